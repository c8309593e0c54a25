package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * {@code usage.reporters[].webhook}: {@code retry} is the number of attempts; the key is sent masked
 * unless {@code includeRawKey}. {@code maxInFlight} (ours) is how many records may be on their way at once; 1
 * delivers in strict journal order, more lets a receiver far away keep up with the gateway. {@code batchSize} (ours)
 * is how many records one request carries: 1 sends seed 004's one-record object, more a JSON array of such objects.
 */
public record WebhookReporterConfig(String url, String method, Duration timeout, int retry,
    Map<String, String> headers, boolean includeRawKey, int maxInFlight, int batchSize) {

  public static final int DEFAULT_MAX_IN_FLIGHT = 16;
  /** One record per request: seed 004's payload, which every receiver written for the original understands. */
  public static final int DEFAULT_BATCH_SIZE = 1;
  /** The records the delivery loop hands a reporter at once; a larger batch could never fill. */
  public static final int MAX_BATCH_SIZE = 500;

  public WebhookReporterConfig {
    headers = Immutables.map(headers);
  }

  static WebhookReporterConfig read(ConfigReader r) {
    return new WebhookReporterConfig(
        r.string("url", ""),
        r.string("method", "POST"),
        r.duration("timeout", Duration.ofSeconds(5)),
        r.integer("retry", 3),
        r.stringMap("headers"),
        r.bool("include_raw_key", false),
        r.integer("max_in_flight", DEFAULT_MAX_IN_FLIGHT),
        r.integer("batch_size", DEFAULT_BATCH_SIZE));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("url", url)
        .put("method", method)
        .put("timeout", JsonOut.duration(timeout))
        .put("retry", retry)
        .put("headers", JsonOut.strings(headers))
        .put("include_raw_key", includeRawKey)
        .put("max_in_flight", maxInFlight)
        .put("batch_size", batchSize);
  }
}
