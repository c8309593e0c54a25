package dev.llmproxy.common.model;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * What one finished request used, as the proxy hands it to the usage verticle. Field names follow the
 * original's documented webhook payload (seed 004), plus what billing needs to trust a record.
 *
 * @param apiKey     the client's key in full (the usage verticle masks it wherever it leaves the gateway)
 * @param keySource  the auth provider whose store holds the key ({@code auth.pipeline[].name}); null when the
 *                   request was not authenticated. Quota accounting charges that store.
 * @param estimated  the backend reported no usage, so the counts were estimated
 * @param aborted    the client went away or the backend failed before the answer was complete
 */
public record UsageRecord(String requestId, String apiKey, String keySource, String keyName, String userId, String model,
                          long promptTokens, long completionTokens, long totalTokens, boolean stream,
                          String method, String endpoint, Instant timestamp, String backendUrl, int statusCode,
                          long latencyMs, long ttftMs, boolean estimated, boolean aborted, String clientIp) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("request_id", requestId)
        .put("api_key", apiKey)
        .put("key_source", keySource)
        .put("key_name", keyName)
        .put("user_id", userId)
        .put("model", model)
        .put("prompt_tokens", promptTokens)
        .put("completion_tokens", completionTokens)
        .put("total_tokens", totalTokens)
        .put("is_stream", stream)
        .put("method", method)
        .put("endpoint", endpoint)
        .put("timestamp", timestamp.toString())
        .put("backend_url", backendUrl)
        .put("status_code", statusCode)
        .put("latency_ms", latencyMs)
        .put("ttft_ms", ttftMs)
        .put("estimated", estimated)
        .put("aborted", aborted)
        .put("client_ip", clientIp);
  }

  public static UsageRecord fromJson(JsonObject json) {
    return new UsageRecord(
        json.getString("request_id"),
        json.getString("api_key"),
        json.getString("key_source"),
        json.getString("key_name"),
        json.getString("user_id"),
        json.getString("model"),
        json.getLong("prompt_tokens", 0L),
        json.getLong("completion_tokens", 0L),
        json.getLong("total_tokens", 0L),
        json.getBoolean("is_stream", false),
        json.getString("method"),
        json.getString("endpoint"),
        Instant.parse(json.getString("timestamp")),
        json.getString("backend_url"),
        json.getInteger("status_code", 0),
        json.getLong("latency_ms", 0L),
        json.getLong("ttft_ms", -1L),
        json.getBoolean("estimated", false),
        json.getBoolean("aborted", false),
        json.getString("client_ip"));
  }
}
