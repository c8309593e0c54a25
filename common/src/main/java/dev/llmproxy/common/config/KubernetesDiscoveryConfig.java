package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code discovery.sources[].kubernetes}: ready endpoints of {@code service}; port 0 means the first port of its
 * endpoints. {@code api_server} (not in the original) names the API server for a gateway outside the cluster
 * ({@code http://127.0.0.1:8001} behind {@code kubectl proxy}); empty means in-cluster, from
 * {@code KUBERNETES_SERVICE_HOST}/{@code KUBERNETES_SERVICE_PORT} and the service account.
 */
public record KubernetesDiscoveryConfig(String namespace, String service, int port, String labelSelector,
    String apiServer) {

  static KubernetesDiscoveryConfig read(ConfigReader r) {
    return new KubernetesDiscoveryConfig(
        r.string("namespace", "default"),
        r.string("service", ""),
        r.integer("port", 0),
        r.string("label_selector", ""),
        r.string("api_server", ""));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("namespace", namespace)
        .put("service", service)
        .put("port", port)
        .put("label_selector", labelSelector)
        .put("api_server", apiServer);
  }
}
