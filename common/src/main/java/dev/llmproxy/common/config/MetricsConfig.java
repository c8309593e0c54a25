package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code metrics}: Prometheus endpoint; {@code latencyBuckets} in seconds. {@code vertxHttp} adds Vert.x's own
 * per-request HTTP, TCP and event-bus meters (off by default: they cost about a fifth of the gateway's CPU per
 * request, and the {@code llmproxy_*} meters already count requests, latency and time to first token).
 */
public record MetricsConfig(boolean enabled, String path, List<String> customLabels, List<Double> latencyBuckets,
    boolean vertxHttp) {

  public static final List<Double> DEFAULT_BUCKETS = List.of(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0);

  public MetricsConfig {
    customLabels = Immutables.list(customLabels);
    latencyBuckets = Immutables.list(latencyBuckets);
  }

  static MetricsConfig read(ConfigReader r) {
    return new MetricsConfig(
        r.bool("enabled", true),
        r.string("path", "/metrics"),
        r.strings("custom_labels", List.of()),
        r.decimals("latency_buckets", DEFAULT_BUCKETS),
        r.bool("vertx_http", false));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("path", path)
        .put("custom_labels", JsonOut.array(customLabels))
        .put("latency_buckets", JsonOut.array(latencyBuckets))
        .put("vertx_http", vertxHttp);
  }
}
