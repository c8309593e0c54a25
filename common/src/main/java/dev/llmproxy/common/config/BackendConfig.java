package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A statically configured backend. {@code name} defaults to the URL's host:port; {@code models}, when
 * not empty, restricts the backend to those model names. {@code timeout} and {@code connectTimeout} are null
 * when not set: the backend then takes {@code routing.timeout} / {@code routing.connect_timeout}.
 */
public record BackendConfig(String name, String url, int weight, Duration timeout, Duration connectTimeout,
    int maxIdleConns, Map<String, String> headers, List<String> models) {

  public BackendConfig {
    headers = Immutables.map(headers);
    models = Immutables.list(models);
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
        r.strings("models", List.of()));
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
        .put("models", JsonOut.array(models));
  }
}
