package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/** {@code auth.pipeline[].webhook}: an external service that verifies the key. */
public record WebhookAuthConfig(String url, String method, Duration timeout, Map<String, String> headers) {

  public WebhookAuthConfig {
    headers = Immutables.map(headers);
  }

  static WebhookAuthConfig read(ConfigReader r) {
    return new WebhookAuthConfig(
        r.string("url", ""),
        r.string("method", "POST"),
        r.duration("timeout", Duration.ofSeconds(5)),
        r.stringMap("headers"));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("url", url)
        .put("method", method)
        .put("timeout", JsonOut.duration(timeout))
        .put("headers", JsonOut.strings(headers));
  }
}
