package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/** {@code discovery.sources[].http}: a registry answering with the backend list; zero interval means the global one. */
public record HttpDiscoveryConfig(String url, String method, Duration interval, Duration timeout,
    Map<String, String> headers) {

  public HttpDiscoveryConfig {
    headers = Immutables.map(headers);
  }

  static HttpDiscoveryConfig read(ConfigReader r) {
    return new HttpDiscoveryConfig(
        r.string("url", ""),
        r.string("method", "GET"),
        r.duration("interval", Duration.ZERO),
        r.duration("timeout", Duration.ofSeconds(5)),
        r.stringMap("headers"));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("url", url)
        .put("method", method)
        .put("interval", JsonOut.duration(interval))
        .put("timeout", JsonOut.duration(timeout))
        .put("headers", JsonOut.strings(headers));
  }
}
