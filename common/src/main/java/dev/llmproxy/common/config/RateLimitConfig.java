package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code rate_limit}: {@code storage} memory or redis ({@code redis} names a cache);
 * {@code onStoreError} allow or deny decides what happens when that store fails.
 */
public record RateLimitConfig(boolean enabled, String storage, String redis, ScriptConfig script,
    RateLimitTierConfig global, RateLimitTierConfig perKey, String onStoreError) {

  static RateLimitConfig read(ConfigReader r) {
    boolean hasGlobal = r.has("global");
    boolean hasPerKey = r.has("per_key");
    RateLimitTierConfig global = r.section("global", RateLimitTierConfig::read);
    RateLimitTierConfig perKey = r.section("per_key", RateLimitTierConfig::read);
    return new RateLimitConfig(
        r.bool("enabled", false),
        r.string("storage", "memory"),
        r.string("redis", ""),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        hasGlobal ? global : RateLimitTierConfig.OFF,
        hasPerKey ? perKey : RateLimitTierConfig.OFF,
        r.string("on_store_error", "allow"));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("storage", storage)
        .put("redis", redis)
        .put("script", script.toJson())
        .put("global", global.toJson())
        .put("per_key", perKey.toJson())
        .put("on_store_error", onStoreError);
  }
}
