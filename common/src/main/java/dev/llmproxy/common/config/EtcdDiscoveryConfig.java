package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code discovery.sources[].etcd}: backends stored as values under {@code prefix}. */
public record EtcdDiscoveryConfig(List<String> endpoints, String prefix, String username, String password) {

  public EtcdDiscoveryConfig {
    endpoints = Immutables.list(endpoints);
  }

  static EtcdDiscoveryConfig read(ConfigReader r) {
    return new EtcdDiscoveryConfig(
        r.strings("endpoints", List.of()),
        r.string("prefix", "/services/llm"),
        r.string("username", ""),
        r.string("password", ""));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("endpoints", JsonOut.array(endpoints))
        .put("prefix", prefix)
        .put("username", username)
        .put("password", password);
  }
}
