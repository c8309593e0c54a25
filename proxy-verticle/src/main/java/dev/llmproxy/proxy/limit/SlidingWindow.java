package dev.llmproxy.proxy.limit;

/**
 * A sliding one-minute count (requests, or tokens): this minute's count plus the share of the last minute's
 * that still falls within the last 60 seconds. Not thread-safe; {@link ScopeState} locks.
 */
final class SlidingWindow {

  static final long MINUTE_NANOS = 60_000_000_000L;

  private long windowStartNanos;
  private long current;
  private long previous;

  SlidingWindow(long nowNanos) {
    this.windowStartNanos = nowNanos;
  }

  long windowStart(long nowNanos) {
    slide(nowNanos);
    return windowStartNanos;
  }

  double used(long nowNanos) {
    slide(nowNanos);
    double intoWindow = (nowNanos - windowStartNanos) / (double) MINUTE_NANOS;
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
    } else if (startedAtNanos == windowStartNanos - MINUTE_NANOS) {
      previous = Math.max(0, previous + amount);
    }
  }

  long resetSeconds(long nowNanos) {
    slide(nowNanos);
    return Math.max(1, (windowStartNanos + MINUTE_NANOS - nowNanos + 999_999_999L) / 1_000_000_000L);
  }

  private void slide(long nowNanos) {
    long elapsed = nowNanos - windowStartNanos;
    if (elapsed >= MINUTE_NANOS) {
      previous = elapsed >= 2 * MINUTE_NANOS ? 0 : current;
      current = 0;
      windowStartNanos += (elapsed / MINUTE_NANOS) * MINUTE_NANOS;
    }
  }
}
