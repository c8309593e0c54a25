package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A statically configured backend, or a {@code providers[]} entry made one ({@link ProviderConfig#asBackend}).
 * {@code name} defaults to the URL's host:port; {@code models}, when not empty, restricts the backend to those model
 * names. {@code timeout} and {@code connectTimeout} are null when not set: the backend then takes
 * {@code routing.timeout} / {@code routing.connect_timeout}.
 *
 * @param provider    the dialect the backend speaks: {@code openai} (default), {@code openai_chat} (chat completions
 *                    without the Responses API, which is translated), {@code anthropic}, {@code azure_openai}
 * @param apiKey      the key the gateway sends upstream in the dialect's header, or null (the secret itself: shown
 *                    nowhere, {@code /admin/config} redacts {@code api_key})
 * @param deployments Azure's deployment name per model
 * @param apiVersion  Azure's {@code api-version} query parameter
 */
public record BackendConfig(String name, String url, int weight, Duration timeout, Duration connectTimeout,
    int maxIdleConns, Map<String, String> headers, List<String> models, String provider, String apiKey, int priority,
    String fallback, Map<String, String> deployments, String apiVersion, int maxConnections) {

  /** The dialects a backend may speak. */
  public static final List<String> DIALECTS = List.of("openai", "openai_chat", "anthropic", "azure_openai");

  public BackendConfig {
    headers = Immutables.map(headers);
    models = Immutables.list(models);
    deployments = Immutables.map(deployments);
    provider = provider == null ? "openai" : provider;
  }

  /** A plain OpenAI-dialect backend without key, priority or fallback of its own. */
  public BackendConfig(String name, String url, int weight, Duration timeout, Duration connectTimeout,
      int maxIdleConns, Map<String, String> headers, List<String> models) {
    this(name, url, weight, timeout, connectTimeout, maxIdleConns, headers, models, "openai", null, 0, null, null,
        null, 0);
  }

  static BackendConfig read(ConfigReader r) {
    String url = r.string("url", "");
    return new BackendConfig(
        r.string("name", defaultName(url)),
        url,
        r.integer("weight", 1),
        r.duration("timeout", null),
        r.duration("connect_timeout", null),
        r.integer("max_idle_conns", 100),
        r.stringMap("headers"),
        r.strings("models", List.of()),
        r.string("provider", "openai"),
        emptyAsNull(r.string("api_key", null)),
        r.integer("priority", 0),
        emptyAsNull(r.string("fallback", null)),
        r.stringMap("deployments"),
        emptyAsNull(r.string("api_version", null)),
        r.integer("max_connections", 0));
  }

  static String emptyAsNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /**
   * A backend entry from outside the config file (a discovery source: a registry's JSON, an etcd value, a table
   * row), read with the same fields, defaults and shape checks as {@code backends[]}. Fields it does not know
   * are ignored.
   *
   * @throws IllegalArgumentException naming every field of the wrong shape
   */
  public static BackendConfig fromJson(JsonObject json) {
    Problems problems = new Problems();
    BackendConfig config = ConfigReader.readRoot(json, problems, BackendConfig::read);
    if (problems.hasErrors()) {
      throw new IllegalArgumentException(String.join("; ", problems.errors()));
    }
    return config;
  }

  public Duration timeoutOr(Duration routingTimeout) {
    return timeout != null ? timeout : routingTimeout;
  }

  public Duration connectTimeoutOr(Duration routingConnectTimeout) {
    return connectTimeout != null ? connectTimeout : routingConnectTimeout;
  }

  static String defaultName(String url) {
    try {
      URI uri = new URI(url);
      if (uri.getHost() == null) {
        return url;
      }
      int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
      return uri.getHost() + ":" + port;
    } catch (Exception e) {
      return url;
    }
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("url", url)
        .put("weight", weight)
        .put("timeout", timeout == null ? null : JsonOut.duration(timeout))
        .put("connect_timeout", connectTimeout == null ? null : JsonOut.duration(connectTimeout))
        .put("max_idle_conns", maxIdleConns)
        .put("headers", JsonOut.strings(headers))
        .put("models", JsonOut.array(models))
        .put("provider", provider)
        .put("api_key", apiKey)
        .put("priority", priority)
        .put("fallback", fallback)
        .put("deployments", JsonOut.strings(deployments))
        .put("api_version", apiVersion)
        .put("max_connections", maxConnections);
  }
}
