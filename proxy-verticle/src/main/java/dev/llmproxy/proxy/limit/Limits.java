package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitTierConfig;

/**
 * The numbers that apply to one scope for one request; 0 means no such limit. A bucket's capacity is
 * {@code burst}, or twice the rate when that is 0.
 */
public record Limits(int perSecond, int burst, long perMinute, long tokensPerMinute, int maxConcurrent) {

  static Limits of(RateLimitTierConfig tier) {
    return new Limits(tier.requestsPerSecond(), tier.burstSize(), tier.requestsPerMinute(), tier.tokensPerMinute(),
        tier.maxConcurrent());
  }

  /** A key record's own {@code rpm}, {@code tpm} and {@code max_concurrent} win over the tier. */
  Limits withKeyOverrides(Long rpm, Long tpm, Integer maxConcurrent) {
    return new Limits(perSecond, burst, rpm != null ? rpm : perMinute, tpm != null ? tpm : tokensPerMinute,
        maxConcurrent != null ? maxConcurrent : this.maxConcurrent);
  }

  double capacity() {
    return burst > 0 ? burst : 2.0 * perSecond;
  }

  boolean limitsAnything() {
    return perSecond > 0 || perMinute > 0 || tokensPerMinute > 0 || maxConcurrent > 0;
  }
}
