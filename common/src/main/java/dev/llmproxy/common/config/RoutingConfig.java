package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code routing}. {@code loadBalance} is one of {@link #STRATEGIES}; seed 001's {@code least_conn}
 * is read as least_connections.
 */
public record RoutingConfig(boolean enabled, String loadBalance, Duration timeout, Duration connectTimeout,
    ScriptConfig script, RetryConfig retry, List<FallbackConfig> fallback, AffinityConfig affinity,
    FlowControlConfig flowControl, PrefixAwareConfig prefixAware) {

  public static final List<String> STRATEGIES =
      List.of("round_robin", "weighted", "least_connections", "random", "latency_based", "queue_aware",
          "prefix_aware");
  private static final Map<String, String> ALIASES = Map.of("least_conn", "least_connections",
      "weighted_round_robin", "weighted", "latency", "latency_based");

  public RoutingConfig {
    fallback = Immutables.list(fallback);
  }

  static RoutingConfig read(ConfigReader r) {
    String strategy = r.string("load_balance", "round_robin").trim().toLowerCase();
    return new RoutingConfig(
        r.bool("enabled", true),
        ALIASES.getOrDefault(strategy, strategy),
        r.duration("timeout", Duration.ofSeconds(60)),
        r.duration("connect_timeout", Duration.ofSeconds(5)),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        r.section("retry", RetryConfig::read),
        r.list("fallback", FallbackConfig::read, List.of()),
        r.section("affinity", AffinityConfig::read),
        r.section("flow_control", FlowControlConfig::read),
        r.section("prefix_aware", PrefixAwareConfig::read));
  }

  /**
   * What the proxy applies. With {@code enabled: false} the section's features are off (seed 000: routing is "load
   * balancing, retry, and failover"): each request goes to the usable backends serving its model in turn
   * ({@code round_robin}, which follows {@code backends[].weight}), tried once; no strategy, retry, fallback chain, routing script or affinity. {@code timeout} and
   * {@code connect_timeout} still give each backend's defaults. {@code validate} warns about the fields this leaves
   * unused.
   */
  public RoutingConfig inEffect() {
    if (enabled) {
      return this;
    }
    return new RoutingConfig(false, "round_robin", timeout, connectTimeout, ScriptConfig.DEFAULT,
        new RetryConfig(false, 0, retry.initialWait(), retry.maxWait(), retry.multiplier(), List.of()), List.of(),
        new AffinityConfig(false, "", affinity.key()), flowControl, prefixAware);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("load_balance", loadBalance)
        .put("timeout", JsonOut.duration(timeout))
        .put("connect_timeout", JsonOut.duration(connectTimeout))
        .put("script", script.toJson())
        .put("retry", retry.toJson())
        .put("fallback", JsonOut.array(fallback, FallbackConfig::toJson))
        .put("affinity", affinity.toJson())
        .put("flow_control", flowControl.toJson())
        .put("prefix_aware", prefixAware.toJson());
  }
}
