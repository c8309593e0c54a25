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
 * record crosses the event bus as plain JSON. Nothing secret is in it: a provider's upstream key stays in the
 * proxy's config ({@code BackendConfig#apiKey}), looked up by name and URL when a request goes out.
 *
 * @param dialect        how the backend is spoken to: {@code openai} (also vLLM, llama.cpp, OpenAI-compatible
 *                       providers), {@code anthropic} or {@code azure_openai}
 * @param priority       lower is tried first among the backends that serve a request's model
 * @param fallback       the name of a backend to try next when this one fails, or null
 * @param maxConnections the pool's cap on connections to this backend; 0 for no cap of ours
 */
public record Backend(String name, String url, int weight, long timeoutMs, long connectTimeoutMs, int maxIdleConns,
                      Map<String, String> headers, List<String> models, boolean healthy, String dialect, int priority,
                      String fallback, int maxConnections) {

  public static final String OPENAI = "openai";

  public Backend {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    models = models == null ? List.of() : List.copyOf(models);
    dialect = dialect == null || dialect.isEmpty() ? OPENAI : dialect;
  }

  /** A backend spoken to in OpenAI's dialect, at priority 0, without fallback or connection cap. */
  public Backend(String name, String url, int weight, long timeoutMs, long connectTimeoutMs, int maxIdleConns,
                 Map<String, String> headers, List<String> models, boolean healthy) {
    this(name, url, weight, timeoutMs, connectTimeoutMs, maxIdleConns, headers, models, healthy, OPENAI, 0, null, 0);
  }

  /** A configured backend, its unset timeouts taken from {@code routing}. */
  public static Backend of(BackendConfig config, RoutingConfig routing, boolean healthy) {
    return new Backend(config.name(), config.url(), config.weight(),
        config.timeoutOr(routing.timeout()).toMillis(), config.connectTimeoutOr(routing.connectTimeout()).toMillis(),
        config.maxIdleConns(), config.headers(), config.models(), healthy, config.provider(), config.priority(),
        config.fallback(), config.maxConnections());
  }

  public Backend withHealthy(boolean healthy) {
    return new Backend(name, url, weight, timeoutMs, connectTimeoutMs, maxIdleConns, headers, models, healthy, dialect,
        priority, fallback, maxConnections);
  }

  public Backend withName(String name) {
    return new Backend(name, url, weight, timeoutMs, connectTimeoutMs, maxIdleConns, headers, models, healthy, dialect,
        priority, fallback, maxConnections);
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
        .put("healthy", healthy)
        .put("provider", dialect)
        .put("priority", priority)
        .put("fallback", fallback)
        .put("max_connections", maxConnections);
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
        json.getBoolean("healthy", true),
        json.getString("provider", OPENAI),
        json.getInteger("priority", 0),
        json.getString("fallback"),
        json.getInteger("max_connections", 0));
  }
}
