package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code metrics}: Prometheus endpoint; {@code latencyBuckets} in seconds. {@code vertxHttp} adds Vert.x's own
 * per-request HTTP, TCP and event-bus meters (off by default: they cost about a fifth of the gateway's CPU per
 * request, and the {@code llmproxy_*} meters already count requests, latency and time to first token).
 * {@code customLabels} add the caller ({@link #CUSTOM_LABELS}) to the per-request series.
 */
public record MetricsConfig(boolean enabled, String path, List<String> customLabels, List<Double> latencyBuckets,
    boolean vertxHttp) {

  /** The names {@code custom_labels} may hold: the caller of a request (seed 000's list). */
  public static final List<String> CUSTOM_LABELS = List.of("user_id", "api_key");
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
