package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code metrics}: Prometheus endpoint; {@code latencyBuckets} in seconds. */
public record MetricsConfig(boolean enabled, String path, List<String> customLabels, List<Double> latencyBuckets) {

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
        r.decimals("latency_buckets", DEFAULT_BUCKETS));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("path", path)
        .put("custom_labels", JsonOut.array(customLabels))
        .put("latency_buckets", JsonOut.array(latencyBuckets));
  }
}
