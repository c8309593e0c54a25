package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * One of {@code discovery.sources}. Only the block named by {@code type} is used; the others keep
 * their defaults. ({@code static} is a Java keyword, hence {@code staticConfig}.) {@code interval} (zero: unset)
 * may stand beside {@code type}; an interval inside the type's block ({@code http}, {@code consul}) wins over it,
 * and both win over {@code discovery.interval}.
 */
public record DiscoverySourceConfig(String name, String type, boolean enabled, Duration interval,
    DatabaseDiscoveryConfig database,
    StaticDiscoveryConfig staticConfig, ConsulDiscoveryConfig consul, KubernetesDiscoveryConfig kubernetes,
    EtcdDiscoveryConfig etcd, HttpDiscoveryConfig http, ScriptConfig script) {

  static DiscoverySourceConfig read(ConfigReader r) {
    return new DiscoverySourceConfig(
        r.string("name", ""),
        r.string("type", ""),
        r.bool("enabled", true),
        r.duration("interval", Duration.ZERO),
        r.section("database", DatabaseDiscoveryConfig::read),
        r.section("static", StaticDiscoveryConfig::read),
        r.section("consul", ConsulDiscoveryConfig::read),
        r.section("kubernetes", KubernetesDiscoveryConfig::read),
        r.section("etcd", EtcdDiscoveryConfig::read),
        r.section("http", HttpDiscoveryConfig::read),
        ScriptConfig.postProcessing(r));
  }

  public JsonObject toJson() {
    return JsonOut.typedEntry(name, type, enabled)
        .put("interval", JsonOut.duration(interval))
        .put("database", database.toJson())
        .put("static", staticConfig.toJson())
        .put("consul", consul.toJson())
        .put("kubernetes", kubernetes.toJson())
        .put("etcd", etcd.toJson())
        .put("http", http.toJson())
        .put("script", script.toJson());
  }
}
