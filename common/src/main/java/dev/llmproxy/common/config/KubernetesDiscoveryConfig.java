package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code discovery.sources[].kubernetes}: endpoints of {@code service}; port 0 means the service's first port. */
public record KubernetesDiscoveryConfig(String namespace, String service, int port, String labelSelector) {

  static KubernetesDiscoveryConfig read(ConfigReader r) {
    return new KubernetesDiscoveryConfig(
        r.string("namespace", "default"),
        r.string("service", ""),
        r.integer("port", 0),
        r.string("label_selector", ""));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("namespace", namespace)
        .put("service", service)
        .put("port", port)
        .put("label_selector", labelSelector);
  }
}
