package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code rate_limit.per_key}; 0 means no limit (see {@link GlobalRateLimitConfig} for burst and enabled). */
public record PerKeyRateLimitConfig(boolean enabled, int requestsPerSecond, int requestsPerMinute,
    long tokensPerMinute, int maxConcurrent, int burstSize) {

  static PerKeyRateLimitConfig read(ConfigReader r) {
    return new PerKeyRateLimitConfig(
        r.bool("enabled", true),
        r.integer("requests_per_second", 0),
        r.integer("requests_per_minute", 0),
        r.longValue("tokens_per_minute", 0),
        r.integer("max_concurrent", 0),
        r.integer("burst_size", 0));
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
