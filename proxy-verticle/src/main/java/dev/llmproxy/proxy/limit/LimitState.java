package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitTierConfig;

/**
 * The request limits of one scope (the whole gateway, or one key): a token bucket per second, a sliding
 * window per minute, and concurrency slots. Checked and taken under one lock, so that a request is either
 * counted by every limit or by none.
 */
final class LimitState {

  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final double perSecond;
  private final double capacity;
  private final int perMinute;
  private final int maxConcurrent;
  private double tokens;
  private long refilledAtNanos;
  private long windowStartNanos;
  private int inWindow;
  private int inPreviousWindow;
  private int inFlight;
  volatile long lastUsedNanos;

  LimitState(RateLimitTierConfig tier, Long rpmOverride, Integer maxConcurrentOverride, long nowNanos) {
    this.perSecond = tier.requestsPerSecond();
    this.capacity = tier.burstSize() > 0 ? tier.burstSize() : 2.0 * tier.requestsPerSecond();
    this.perMinute = rpmOverride != null ? (int) Math.min(Integer.MAX_VALUE, rpmOverride) : tier.requestsPerMinute();
    this.maxConcurrent = maxConcurrentOverride != null ? maxConcurrentOverride : tier.maxConcurrent();
    this.tokens = capacity;
    this.refilledAtNanos = nowNanos;
    this.windowStartNanos = nowNanos;
  }

  /** Null when the request is admitted (and counted), else the limit it hit. */
  synchronized Denial take(long nowNanos, String scope) {
    lastUsedNanos = nowNanos;
    if (perSecond > 0) {
      tokens = Math.min(capacity, tokens + (nowNanos - refilledAtNanos) / 1e9 * perSecond);
      refilledAtNanos = nowNanos;
      if (tokens < 1) {
        long waitSeconds = (long) Math.ceil((1 - tokens) / perSecond);
        return new Denial("requests per second " + scope, (long) perSecond, 0, waitSeconds);
      }
    }
    if (perMinute > 0) {
      slideWindow(nowNanos);
      double estimate = estimate(nowNanos);
      if (estimate + 1 > perMinute) {
        long waitSeconds = Math.max(1, (windowStartNanos + MINUTE_NANOS - nowNanos + 999_999_999L) / 1_000_000_000L);
        return new Denial("requests per minute " + scope, perMinute, 0, waitSeconds);
      }
    }
    if (maxConcurrent > 0 && inFlight >= maxConcurrent) {
      return new Denial("concurrent requests " + scope, maxConcurrent, 0, 1);
    }
    if (perSecond > 0) {
      tokens -= 1;
    }
    if (perMinute > 0) {
      inWindow++;
    }
    inFlight++;
    return null;
  }

  /** Takes back a request that another scope refused. */
  synchronized void untake() {
    if (perSecond > 0) {
      tokens = Math.min(capacity, tokens + 1);
    }
    if (perMinute > 0 && inWindow > 0) {
      inWindow--;
    }
    inFlight--;
  }

  synchronized void release() {
    inFlight--;
  }

  synchronized boolean idleSince(long nanos) {
    return inFlight == 0 && lastUsedNanos < nanos;
  }

  /** The per-minute limit and what is left of it, for the x-ratelimit headers; null when there is none. */
  synchronized long[] minuteBudget(long nowNanos) {
    if (perMinute <= 0) {
      return null;
    }
    slideWindow(nowNanos);
    long remaining = Math.max(0, perMinute - (long) Math.ceil(estimate(nowNanos)));
    long resetSeconds = Math.max(1, (windowStartNanos + MINUTE_NANOS - nowNanos) / 1_000_000_000L);
    return new long[] {perMinute, remaining, resetSeconds};
  }

  private void slideWindow(long nowNanos) {
    long elapsed = nowNanos - windowStartNanos;
    if (elapsed >= MINUTE_NANOS) {
      inPreviousWindow = elapsed >= 2 * MINUTE_NANOS ? 0 : inWindow;
      inWindow = 0;
      windowStartNanos += (elapsed / MINUTE_NANOS) * MINUTE_NANOS;
    }
  }

  /** The sliding count: this window's requests plus the share of the last window's that still falls in the last minute. */
  private double estimate(long nowNanos) {
    double intoWindow = (nowNanos - windowStartNanos) / (double) MINUTE_NANOS;
    return inWindow + inPreviousWindow * (1 - intoWindow);
  }
}
