package dev.llmproxy.proxy.limit;

/**
 * The counter of one route's limit for one key or client address, in memory: a sliding window of the limit's own
 * length (a second, a minute, an hour, a day). Its length is part of its identity ({@link RouteScope#bucket}); the
 * number comes with each call, so that a reload changing it applies at once to what was counted.
 */
final class RouteState {

  private final SlidingWindow requests;
  private long lastUsedNanos;

  RouteState(long nowNanos, long windowMillis) {
    this.requests = new SlidingWindow(nowNanos, windowMillis * 1_000_000L);
    this.lastUsedNanos = nowNanos;
  }

  /** Null when the request is admitted (and counted), else the denial. */
  synchronized Denial take(RouteScope route, long nowNanos) {
    lastUsedNanos = nowNanos;
    long limit = route.limits().perWindow();
    if (requests.used(nowNanos) + 1 > limit) {
      return Denial.ofRoute(route, requests.secondsUntilRoomFor(limit, nowNanos));
    }
    requests.add(1);
    return null;
  }

  /** Takes back a request that another scope refused. */
  synchronized void untake(long nowNanos) {
    requests.adjust(requests.windowStart(nowNanos), -1, nowNanos);
  }

  synchronized Budget budget(RouteScope route, long nowNanos) {
    long limit = route.limits().perWindow();
    long remaining = Math.max(0, limit - (long) Math.ceil(requests.used(nowNanos)));
    return new Budget(limit, remaining, requests.resetSeconds(nowNanos));
  }

  /**
   * Nothing counted since {@code nanos}, nor within the last two windows (what the sliding window still reads): an
   * hour's or a day's count is kept as long as it matters, however short the idle time of keys is.
   */
  synchronized boolean idleSince(long nanos, long nowNanos) {
    return lastUsedNanos < nanos && lastUsedNanos < nowNanos - 2 * requests.lengthNanos();
  }
}
