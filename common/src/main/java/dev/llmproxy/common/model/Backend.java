package dev.llmproxy.common.model;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.RoutingConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * One inference server as the proxy sees it in a snapshot. Durations are in milliseconds so that the
 * record crosses the event bus as plain JSON.
 */
public record Backend(String name, String url, int weight, long timeoutMs, long connectTimeoutMs, int maxIdleConns,
                      Map<String, String> headers, List<String> models, boolean healthy) {

  public Backend {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    models = models == null ? List.of() : List.copyOf(models);
  }

  /** A configured backend, its unset timeouts taken from {@code routing}. */
  public static Backend of(BackendConfig config, RoutingConfig routing, boolean healthy) {
    return new Backend(config.name(), config.url(), config.weight(),
        config.timeoutOr(routing.timeout()).toMillis(), config.connectTimeoutOr(routing.connectTimeout()).toMillis(),
        config.maxIdleConns(), config.headers(), config.models(), healthy);
  }

  public URI uri() {
    return URI.create(url);
  }

  public boolean usable() {
    return healthy && weight > 0;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("url", url)
        .put("weight", weight)
        .put("timeout_ms", timeoutMs)
        .put("connect_timeout_ms", connectTimeoutMs)
        .put("max_idle_conns", maxIdleConns)
        .put("headers", new JsonObject(Map.copyOf(headers)))
        .put("models", new JsonArray(List.copyOf(models)))
        .put("healthy", healthy);
  }

  @SuppressWarnings("unchecked")
  public static Backend fromJson(JsonObject json) {
    JsonObject headers = json.getJsonObject("headers", new JsonObject());
    Map<String, String> headerMap = new java.util.LinkedHashMap<>();
    headers.forEach(e -> headerMap.put(e.getKey(), String.valueOf(e.getValue())));
    return new Backend(
        json.getString("name"),
        json.getString("url"),
        json.getInteger("weight", 1),
        json.getLong("timeout_ms", 60_000L),
        json.getLong("connect_timeout_ms", 5_000L),
        json.getInteger("max_idle_conns", 100),
        headerMap,
        (List<String>) (List<?>) json.getJsonArray("models", new JsonArray()).getList(),
        json.getBoolean("healthy", true));
  }
}
