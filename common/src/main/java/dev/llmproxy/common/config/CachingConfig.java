package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code caching} (seed 002): {@code enabled} and the {@code response_cache}. Seed 002's {@code summary_cache}
 * belongs to a summarising condensation the gateway does not have: read, and warned about by its path.
 */
public record CachingConfig(boolean enabled, ResponseCacheConfig responseCache) {

  /** True when answers are cached: {@code caching.enabled} and {@code caching.response_cache.enabled}. */
  public boolean responseCacheOn() {
    return enabled && responseCache.enabled();
  }

  static CachingConfig read(ConfigReader r) {
    if (r.has("summary_cache")) {
      r.ignore("summary_cache");
      r.problems().warn(r.path("summary_cache"), "not supported: it caches summaries, and the gateway does not "
          + "summarise (see condensation); this section has no effect");
    }
    return new CachingConfig(r.bool("enabled", false), r.section("response_cache", ResponseCacheConfig::read));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("response_cache", responseCache.toJson());
  }
}
