package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A hosted provider (seed 002's {@code providers[]}): a backend of the router with its dialect and its own upstream
 * key, read from the environment variable {@code api_key_env} when the config is loaded (and reloaded).
 *
 * @param type           {@code openai}, {@code anthropic}, {@code azure_openai} or {@code openai_compatible}
 * @param apiKey         the resolved key (the secret): kept in memory, shown nowhere
 * @param retryAttempts  -1 when not set; per-provider retries are not supported ({@code routing.retry} applies)
 */
public record ProviderConfig(String name, String type, String baseUrl, String apiKeyEnv, String apiKey,
    List<String> models, boolean enabled, int priority, Duration timeout, Duration connectTimeout,
    Map<String, String> headers, int maxConnections, String fallbackProvider, int retryAttempts,
    Map<String, String> deployments, String apiVersion) {

  public static final List<String> TYPES = List.of("openai", "anthropic", "azure_openai", "openai_compatible");

  public ProviderConfig {
    models = Immutables.list(models);
    headers = Immutables.map(headers);
    deployments = Immutables.map(deployments);
  }

  static ProviderConfig read(ConfigReader r) {
    String type = r.string("type", "openai");
    int retries = r.integer("retry_attempts", -1);
    if (r.has("max_retries")) {
      retries = r.integer("max_retries", retries);
    }
    return new ProviderConfig(
        r.string("name", type),
        type,
        r.string("base_url", defaultBaseUrl(type)),
        BackendConfig.emptyAsNull(r.string("api_key_env", null)),
        BackendConfig.emptyAsNull(r.string("api_key", null)),
        r.strings("models", List.of()),
        r.bool("enabled", true),
        r.integer("priority", 0),
        r.duration("timeout", null),
        r.duration("connect_timeout", null),
        r.stringMap("headers"),
        r.integer("max_connections", 0),
        BackendConfig.emptyAsNull(r.string("fallback_provider", null)),
        retries,
        r.stringMap("deployments"),
        BackendConfig.emptyAsNull(r.string("api_version", "azure_openai".equals(type) ? "2024-10-21" : null)));
  }

  private static String defaultBaseUrl(String type) {
    return switch (type) {
      case "openai" -> "https://api.openai.com/v1";
      case "anthropic" -> "https://api.anthropic.com";
      default -> "";
    };
  }

  /** The dialect the router speaks to this provider in. */
  public String dialect() {
    return switch (type) {
      case "anthropic" -> "anthropic";
      case "azure_openai" -> "azure_openai";
      // Grok, OpenRouter, Perplexity, vLLM-style servers: chat completions, so /v1/responses is translated.
      case "openai_compatible" -> "openai_chat";
      default -> "openai";
    };
  }

  /**
   * The router's backend for this provider. Its URL is {@code base_url} without a trailing {@code /v1}, because the
   * gateway appends the API path ({@code /v1/chat/completions}, {@code /v1/messages}) itself.
   */
  public BackendConfig asBackend() {
    String url = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    if (!"azure_openai".equals(type) && url.endsWith("/v1")) {
      url = url.substring(0, url.length() - 3);
    }
    return new BackendConfig(name, url, 1, timeout, connectTimeout, 100, headers, models, dialect(), apiKey,
        priority, fallbackProvider, deployments, apiVersion, maxConnections);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("type", type)
        .put("base_url", baseUrl)
        .put("api_key_env", apiKeyEnv)
        .put("api_key", apiKey)
        .put("models", JsonOut.array(models))
        .put("enabled", enabled)
        .put("priority", priority)
        .put("timeout", timeout == null ? null : JsonOut.duration(timeout))
        .put("connect_timeout", connectTimeout == null ? null : JsonOut.duration(connectTimeout))
        .put("headers", JsonOut.strings(headers))
        .put("max_connections", maxConnections)
        .put("fallback_provider", fallbackProvider)
        .put("retry_attempts", retryAttempts)
        .put("deployments", JsonOut.strings(deployments))
        .put("api_version", apiVersion);
  }
}
