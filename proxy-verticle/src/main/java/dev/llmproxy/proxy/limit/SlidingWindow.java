package dev.llmproxy.proxy.limit;

/**
 * A sliding one-minute count (requests, or tokens): this minute's count plus the share of the last minute's
 * that still falls within the last 60 seconds. A route's limit slides a window of its own length (a second, an
 * hour, a day) the same way. Not thread-safe; {@link ScopeState} locks.
 */
final class SlidingWindow {

  static final long MINUTE_NANOS = 60_000_000_000L;

  private final long lengthNanos;
  private long windowStartNanos;
  private long current;
  private long previous;

  SlidingWindow(long nowNanos) {
    this(nowNanos, MINUTE_NANOS);
  }

  SlidingWindow(long nowNanos, long lengthNanos) {
    this.windowStartNanos = nowNanos;
    this.lengthNanos = lengthNanos;
  }

  long lengthNanos() {
    return lengthNanos;
  }

  long windowStart(long nowNanos) {
    slide(nowNanos);
    return windowStartNanos;
  }

  double used(long nowNanos) {
    slide(nowNanos);
    double intoWindow = (nowNanos - windowStartNanos) / (double) lengthNanos;
    return Math.max(0, current + previous * (1 - intoWindow));
  }

  void add(long amount) {
    current += amount;
  }

  /** Corrects what was counted in the window that began at {@code startedAtNanos}, if it is still in view. */
  void adjust(long startedAtNanos, long amount, long nowNanos) {
    slide(nowNanos);
    if (startedAtNanos == windowStartNanos) {
      current = Math.max(0, current + amount);
    } else if (startedAtNanos == windowStartNanos - lengthNanos) {
      previous = Math.max(0, previous + amount);
    }
  }

  long resetSeconds(long nowNanos) {
    slide(nowNanos);
    return Math.max(1, (windowStartNanos + lengthNanos - nowNanos + 999_999_999L) / 1_000_000_000L);
  }

  /**
   * Seconds until one more unit fits under {@code limit}: as the last window's share slides out, or, when this
   * window alone is full, once it has become the last one and enough of it has slid out.
   */
  long secondsUntilRoomFor(long limit, long nowNanos) {
    slide(nowNanos);
    long into = nowNanos - windowStartNanos;
    double wait;
    if (current + 1 <= limit && previous > 0) {
      // current + previous * (1 - (into + t) / length) + 1 <= limit
      wait = lengthNanos * (current + previous + 1 - limit) / (double) previous - into;
    } else {
      // Next window: current * (1 - t / length) + 1 <= limit, t counted from the next window's start.
      double share = current <= 0 ? 0 : Math.max(0, (current + 1 - limit) / (double) current);
      wait = lengthNanos - into + share * lengthNanos;
    }
    return Math.max(1, (long) Math.ceil(Math.max(0, wait) / 1e9));
  }

  private void slide(long nowNanos) {
    long elapsed = nowNanos - windowStartNanos;
    if (elapsed >= lengthNanos) {
      previous = elapsed >= 2 * lengthNanos ? 0 : current;
      current = 0;
      windowStartNanos += (elapsed / lengthNanos) * lengthNanos;
    }
  }
}
