package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code rate_limit.global}; 0 means no limit. A bucket's capacity is {@code burstSize}, or twice
 * the rate when that is 0. On by default once the block is written, since writing it says so.
 */
public record GlobalRateLimitConfig(boolean enabled, int requestsPerSecond, int requestsPerMinute, int burstSize) {

  static GlobalRateLimitConfig read(ConfigReader r) {
    return new GlobalRateLimitConfig(
        r.bool("enabled", true),
        r.integer("requests_per_second", 0),
        r.integer("requests_per_minute", 0),
        r.integer("burst_size", 0));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("requests_per_second", requestsPerSecond)
        .put("requests_per_minute", requestsPerMinute)
        .put("burst_size", burstSize);
  }
}
