package dev.llmproxy.proxy.limit;

/**
 * The counters of one scope (the whole gateway, or one key's bucket) in memory: a token bucket per second,
 * sliding windows for requests and tokens per minute, and concurrency slots. The limits come with each call,
 * so that a key whose record or script answer changes is checked against its current numbers.
 */
final class ScopeState {

  private double bucket = -1;
  private long refilledAtNanos;
  private final SlidingWindow requests;
  private final SlidingWindow tokens;
  private int inFlight;
  private long lastUsedNanos;

  ScopeState(long nowNanos) {
    this.refilledAtNanos = nowNanos;
    this.requests = new SlidingWindow(nowNanos);
    this.tokens = new SlidingWindow(nowNanos);
    this.lastUsedNanos = nowNanos;
  }

  /** Null when the request is admitted (and counted), else the limit it hit. */
  synchronized Denial take(Limits limits, long reserved, long nowNanos, boolean global) {
    lastUsedNanos = nowNanos;
    if (limits.perSecond() > 0) {
      double capacity = limits.capacity();
      bucket = bucket < 0 ? capacity : Math.min(capacity, bucket + (nowNanos - refilledAtNanos) / 1e9 * limits.perSecond());
      refilledAtNanos = nowNanos;
      if (bucket < 1) {
        long wait = (long) Math.ceil((1 - bucket) / limits.perSecond());
        return Denial.of(Denial.Kind.RPS, global, limits.perSecond(), 0, wait);
      }
    }
    if (limits.perMinute() > 0 && requests.used(nowNanos) + 1 > limits.perMinute()) {
      return Denial.of(Denial.Kind.RPM, global, limits.perMinute(), 0, requests.resetSeconds(nowNanos));
    }
    if (limits.tokensPerMinute() > 0 && tokens.used(nowNanos) + reserved > limits.tokensPerMinute()) {
      long left = Math.max(0, limits.tokensPerMinute() - (long) Math.ceil(tokens.used(nowNanos)));
      return Denial.of(Denial.Kind.TPM, global, limits.tokensPerMinute(), left, tokens.resetSeconds(nowNanos));
    }
    if (limits.maxConcurrent() > 0 && inFlight >= limits.maxConcurrent()) {
      return Denial.of(Denial.Kind.CONCURRENT, global, limits.maxConcurrent(), 0, 1);
    }
    if (limits.perSecond() > 0) {
      bucket -= 1;
    }
    requests.add(1);
    if (limits.tokensPerMinute() > 0) {
      tokens.add(reserved);
    }
    inFlight++;
    return null;
  }

  /** Takes back a request that another scope refused. */
  synchronized void untake(Limits limits, long reserved, long nowNanos) {
    if (limits.perSecond() > 0) {
      bucket = Math.min(limits.capacity(), bucket + 1);
    }
    requests.adjust(requests.windowStart(nowNanos), -1, nowNanos);
    if (limits.tokensPerMinute() > 0) {
      tokens.adjust(tokens.windowStart(nowNanos), -reserved, nowNanos);
    }
    inFlight--;
  }

  synchronized long tokenWindow(long nowNanos) {
    return tokens.windowStart(nowNanos);
  }

  /** Settles a reservation made in the window that began at {@code windowStart}, and gives the slot back. */
  synchronized void complete(long windowStart, long tokenCorrection, long nowNanos) {
    if (tokenCorrection != 0) {
      tokens.adjust(windowStart, tokenCorrection, nowNanos);
    }
    inFlight--;
    lastUsedNanos = nowNanos;
  }

  synchronized boolean idleSince(long nanos) {
    return inFlight == 0 && lastUsedNanos < nanos;
  }

  synchronized Budget requestBudget(Limits limits, long nowNanos) {
    if (limits.perMinute() <= 0) {
      return null;
    }
    long remaining = Math.max(0, limits.perMinute() - (long) Math.ceil(requests.used(nowNanos)));
    return new Budget(limits.perMinute(), remaining, requests.resetSeconds(nowNanos));
  }

  synchronized Budget tokenBudget(Limits limits, long nowNanos) {
    if (limits.tokensPerMinute() <= 0) {
      return null;
    }
    long remaining = Math.max(0, limits.tokensPerMinute() - (long) Math.ceil(tokens.used(nowNanos)));
    return new Budget(limits.tokensPerMinute(), remaining, tokens.resetSeconds(nowNanos));
  }
}
