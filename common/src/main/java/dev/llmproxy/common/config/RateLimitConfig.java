package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * {@code rate_limit}: {@code storage} memory or redis ({@code redis} names a cache);
 * {@code onStoreError} allow or deny decides what happens when that store fails or does not answer within
 * {@code storeTimeout}. {@code defaultCompletionTokens} is what a TPM limit reserves for the answer of a request
 * that names no {@code max_tokens}/{@code max_completion_tokens} (settled to the real count afterwards).
 * {@code routes} (seed 002) limit the requests on one API path, per key (per client address without a key).
 */
public record RateLimitConfig(boolean enabled, String storage, String redis, ScriptConfig script,
    RateLimitTierConfig global, RateLimitTierConfig perKey, String onStoreError, Duration storeTimeout,
    int defaultCompletionTokens, List<RouteLimitConfig> routes) {

  public RateLimitConfig {
    routes = Immutables.list(routes);
  }

  public static final Duration DEFAULT_STORE_TIMEOUT = Duration.ofMillis(100);
  public static final int DEFAULT_COMPLETION_TOKENS = 512;

  static RateLimitConfig read(ConfigReader r) {
    boolean hasGlobal = r.has("global");
    boolean hasPerKey = r.has("per_key");
    RateLimitTierConfig global = r.section("global", RateLimitTierConfig::read);
    RateLimitTierConfig perKey = r.section("per_key", RateLimitTierConfig::read);
    List<RouteLimitConfig> routes = RouteLimitConfig.readAll(r, "routes");
    return new RateLimitConfig(
        enabled(r, hasGlobal && global.limits(), hasPerKey && perKey.limits(), !routes.isEmpty()),
        r.string("storage", "memory"),
        r.string("redis", ""),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        hasGlobal ? global : RateLimitTierConfig.OFF,
        hasPerKey ? perKey : RateLimitTierConfig.OFF,
        r.string("on_store_error", "allow"),
        r.duration("store_timeout", DEFAULT_STORE_TIMEOUT),
        r.integer("default_completion_tokens", DEFAULT_COMPLETION_TOKENS),
        routes);
  }

  /**
   * Seed 004's first scenario writes {@code per_key} limits without {@code enabled}, seed 002's {@code routes}: the
   * user asks for limits, so an absent {@code enabled} follows the limits written (with a warning saying so); an
   * explicit value always wins.
   */
  private static boolean enabled(ConfigReader r, boolean globalLimits, boolean perKeyLimits, boolean routeLimits) {
    if (r.has("enabled") || !(globalLimits || perKeyLimits || routeLimits)) {
      return r.bool("enabled", false);
    }
    List<String> written = new java.util.ArrayList<>();
    if (globalLimits) {
      written.add(r.path("global"));
    }
    if (perKeyLimits) {
      written.add(r.path("per_key"));
    }
    if (routeLimits) {
      written.add(r.path("routes"));
    }
    String tiers = written.size() == 1 ? written.get(0)
        : String.join(", ", written.subList(0, written.size() - 1)) + " and " + written.get(written.size() - 1);
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
        .put("default_completion_tokens", defaultCompletionTokens)
        .put("routes", RouteLimitConfig.toJson(routes));
  }
}
