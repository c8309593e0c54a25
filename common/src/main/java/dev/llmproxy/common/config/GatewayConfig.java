package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** The whole validated configuration; immutable, so one instance can be shared by every verticle. */
public record GatewayConfig(ServerConfig server, LogConfig log, StorageConfig storage, List<BackendConfig> backends,
    DiscoveryConfig discovery, AdminConfig admin, AuthConfig auth, LoggingConfig logging, RateLimitConfig rateLimit,
    RoutingConfig routing, HealthCheckConfig healthCheck, MetricsConfig metrics, UsageConfig usage,
    HooksConfig hooks, ClusterConfig cluster, ModelOverrides modelOverrides, CachingConfig caching,
    CondensationConfig condensation, ReloadConfig reload,
    List<ProviderConfig> providers,
    FaultInjectionConfig faultInjection,
    TracingConfig tracing) {

  public GatewayConfig {
    backends = Immutables.list(backends);
    providers = Immutables.list(providers);
  }

  /** What the router chooses from: {@code backends}, then every enabled provider as a backend. */
  public List<BackendConfig> routedBackends() {
    if (providers.isEmpty()) {
      return backends;
    }
    List<BackendConfig> all = new java.util.ArrayList<>(backends);
    for (ProviderConfig provider : providers) {
      if (provider.enabled()) {
        all.add(provider.asBackend());
      }
    }
    return List.copyOf(all);
  }

  /** Everything at its default, no backends. */
  public static GatewayConfig defaults() {
    return ConfigReader.defaults(GatewayConfig::read);
  }

  /**
   * The inverse of {@link #toJson()}: no environment substitution, overrides or deprecated fields,
   * only reading and validation.
   *
   * @throws IllegalArgumentException listing every error when {@code canonical} is not valid
   */
  public static GatewayConfig fromJson(JsonObject canonical) {
    LoadedConfig loaded = ConfigLoader.readCanonical(canonical);
    if (!loaded.ok()) {
      throw new IllegalArgumentException("invalid config: " + String.join("; ", loaded.errors()));
    }
    return loaded.config();
  }

  static GatewayConfig read(ConfigReader r) {
    return new GatewayConfig(
        r.section("server", ServerConfig::read),
        r.section("log", LogConfig::read),
        r.section("storage", StorageConfig::read),
        r.list("backends", BackendConfig::read, List.of()),
        r.section("discovery", DiscoveryConfig::read),
        r.section("admin", AdminConfig::read),
        r.section("auth", AuthConfig::read),
        r.section("logging", LoggingConfig::read),
        r.section("rate_limit", RateLimitConfig::read),
        r.section("routing", RoutingConfig::read),
        r.section("health_check", s -> HealthCheckConfig.read(s, r.has("health_check"))),
        r.section("metrics", MetricsConfig::read),
        r.section("usage", UsageConfig::read),
        r.section("hooks", HooksConfig::read),
        r.section("cluster", ClusterConfig::read),
        ModelOverrides.read(r, "model_overrides"),
        r.section("caching", CachingConfig::read),
        r.section("condensation", CondensationConfig::read),
        r.section("reload", ReloadConfig::read),
        r.list("providers", ProviderConfig::read, List.of()),
        r.section("fault_injection", FaultInjectionConfig::read),
        r.section("tracing", TracingConfig::read));
  }

  /** Canonical form: the reference's snake_case keys, every field present, durations as "30s"/"100ms". */
  public JsonObject toJson() {
    return new JsonObject()
        .put("server", server.toJson())
        .put("log", log.toJson())
        .put("storage", storage.toJson())
        .put("backends", JsonOut.array(backends, BackendConfig::toJson))
        .put("discovery", discovery.toJson())
        .put("admin", admin.toJson())
        .put("auth", auth.toJson())
        .put("logging", logging.toJson())
        .put("rate_limit", rateLimit.toJson())
        .put("routing", routing.toJson())
        .put("health_check", healthCheck.toJson())
        .put("metrics", metrics.toJson())
        .put("usage", usage.toJson())
        .put("hooks", hooks.toJson())
        .put("cluster", cluster.toJson())
        .put("model_overrides", modelOverrides.toJson())
        .put("caching", caching.toJson())
        .put("condensation", condensation.toJson())
        .put("reload", reload.toJson())
        .put("providers", JsonOut.array(providers, ProviderConfig::toJson))
        .put("fault_injection", faultInjection.toJson())
        .put("tracing", tracing.toJson());
  }
}
