package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code rate_limit}: {@code storage} memory or redis ({@code redis} names a cache);
 * {@code onStoreError} allow or deny decides what happens when that store fails or does not answer within
 * {@code storeTimeout}. {@code defaultCompletionTokens} is what a TPM limit reserves for the answer of a request
 * that names no {@code max_tokens}/{@code max_completion_tokens} (settled to the real count afterwards).
 */
public record RateLimitConfig(boolean enabled, String storage, String redis, ScriptConfig script,
    RateLimitTierConfig global, RateLimitTierConfig perKey, String onStoreError, Duration storeTimeout,
    int defaultCompletionTokens) {

  public static final Duration DEFAULT_STORE_TIMEOUT = Duration.ofMillis(100);
  public static final int DEFAULT_COMPLETION_TOKENS = 512;

  static RateLimitConfig read(ConfigReader r) {
    boolean hasGlobal = r.has("global");
    boolean hasPerKey = r.has("per_key");
    RateLimitTierConfig global = r.section("global", RateLimitTierConfig::read);
    RateLimitTierConfig perKey = r.section("per_key", RateLimitTierConfig::read);
    return new RateLimitConfig(
        enabled(r, hasGlobal && global.limits(), hasPerKey && perKey.limits()),
        r.string("storage", "memory"),
        r.string("redis", ""),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        hasGlobal ? global : RateLimitTierConfig.OFF,
        hasPerKey ? perKey : RateLimitTierConfig.OFF,
        r.string("on_store_error", "allow"),
        r.duration("store_timeout", DEFAULT_STORE_TIMEOUT),
        r.integer("default_completion_tokens", DEFAULT_COMPLETION_TOKENS));
  }

  /**
   * Seed 004's first scenario writes {@code per_key} limits without {@code enabled}: the user asks for limits, so an
   * absent {@code enabled} follows the limits written (with a warning saying so); an explicit value always wins.
   */
  private static boolean enabled(ConfigReader r, boolean globalLimits, boolean perKeyLimits) {
    if (r.has("enabled") || !(globalLimits || perKeyLimits)) {
      return r.bool("enabled", false);
    }
    String tiers = globalLimits && perKeyLimits ? r.path("global") + " and " + r.path("per_key")
        : r.path(globalLimits ? "global" : "per_key");
    r.problems().warn(r.path("enabled"), "not set; rate limiting is on because " + tiers
        + " sets limits (write enabled: true to say so, or enabled: false to switch them off)");
    return true;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("storage", storage)
        .put("redis", redis)
        .put("script", script.toJson())
        .put("global", global.toJson())
        .put("per_key", perKey.toJson())
        .put("on_store_error", onStoreError)
        .put("store_timeout", JsonOut.duration(storeTimeout))
        .put("default_completion_tokens", defaultCompletionTokens);
  }
}
