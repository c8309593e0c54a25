package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitTierConfig;

/**
 * The numbers that apply to one scope for one request; 0 means no such limit. A bucket's capacity is
 * {@code burst}, or twice the rate when that is 0. {@code perWindow} requests per sliding {@code windowMillis} is a
 * route's limit ({@code rate_limit.routes}); the tiers have none.
 */
public record Limits(int perSecond, int burst, long perMinute, long tokensPerMinute, int maxConcurrent,
                     long perWindow, long windowMillis) {

  public Limits(int perSecond, int burst, long perMinute, long tokensPerMinute, int maxConcurrent) {
    this(perSecond, burst, perMinute, tokensPerMinute, maxConcurrent, 0, 0);
  }

  static Limits of(RateLimitTierConfig tier) {
    return new Limits(tier.requestsPerSecond(), tier.burstSize(), tier.requestsPerMinute(), tier.tokensPerMinute(),
        tier.maxConcurrent());
  }

  /** Only {@code requests} per sliding {@code windowMillis}: a route's limit. */
  static Limits perWindow(long requests, long windowMillis) {
    return new Limits(0, 0, 0, 0, 0, requests, windowMillis);
  }

  /** A key record's own {@code rpm}, {@code tpm} and {@code max_concurrent} win over the tier. */
  Limits withKeyOverrides(Long rpm, Long tpm, Integer maxConcurrent) {
    if (rpm == null && tpm == null && maxConcurrent == null) {
      return this; // a key without numbers of its own: nothing made per request
    }
    return new Limits(perSecond, burst, rpm != null ? rpm : perMinute, tpm != null ? tpm : tokensPerMinute,
        maxConcurrent != null ? maxConcurrent : this.maxConcurrent, perWindow, windowMillis);
  }

  double capacity() {
    return burst > 0 ? burst : 2.0 * perSecond;
  }

  boolean limitsAnything() {
    return perSecond > 0 || perMinute > 0 || tokensPerMinute > 0 || maxConcurrent > 0 || perWindow > 0;
  }
}
