package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code tracing}: OpenTelemetry spans, sent in batches to an OTLP/HTTP (protobuf) collector at {@code endpoint}
 * (the base URL; {@code /v1/traces} is appended). {@code sampleRate} is the share of new traces kept; a caller's
 * sampled {@code traceparent} is always followed (parent-based). Off by default: then no tracer is installed.
 */
public record TracingConfig(boolean enabled, String exporter, String endpoint, double sampleRate, String serviceName) {

  public static final String OTLP = "otlp";

  static TracingConfig read(ConfigReader r) {
    return new TracingConfig(
        r.bool("enabled", false),
        r.string("exporter", OTLP),
        r.string("endpoint", "http://127.0.0.1:4318"),
        r.decimal("sample_rate", 1.0),
        r.string("service_name", "llmproxy"));
  }

  /** Where the spans are posted: the collector's OTLP/HTTP traces path. */
  public String tracesUrl() {
    String base = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    return base.endsWith("/v1/traces") ? base : base + "/v1/traces";
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("exporter", exporter)
        .put("endpoint", endpoint)
        .put("sample_rate", sampleRate)
        .put("service_name", serviceName);
  }
}
