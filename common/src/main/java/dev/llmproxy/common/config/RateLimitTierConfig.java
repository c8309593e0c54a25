package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code rate_limit.global} and {@code rate_limit.per_key}: the same limits for the whole gateway or for each
 * key; 0 means no limit. A bucket's capacity is {@code burstSize}, or twice the rate when that is 0. On by
 * default once the block is written, since writing it says so.
 */
public record RateLimitTierConfig(boolean enabled, int requestsPerSecond, int requestsPerMinute, long tokensPerMinute,
    int maxConcurrent, int burstSize) {

  static final RateLimitTierConfig OFF = new RateLimitTierConfig(false, 0, 0, 0, 0, 0);

  static RateLimitTierConfig read(ConfigReader r) {
    return new RateLimitTierConfig(
        r.bool("enabled", true),
        r.integer("requests_per_second", 0),
        r.integer("requests_per_minute", 0),
        r.longValue("tokens_per_minute", 0),
        r.integer("max_concurrent", 0),
        r.integer("burst_size", 0));
  }

  /** True when this tier is on and limits something. */
  public boolean limits() {
    return enabled && (requestsPerSecond > 0 || requestsPerMinute > 0 || tokensPerMinute > 0 || maxConcurrent > 0);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("requests_per_second", requestsPerSecond)
        .put("requests_per_minute", requestsPerMinute)
        .put("tokens_per_minute", tokensPerMinute)
        .put("max_concurrent", maxConcurrent)
        .put("burst_size", burstSize);
  }
}
