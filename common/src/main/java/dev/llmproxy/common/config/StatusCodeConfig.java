package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** One of {@code auth.status_codes}: the HTTP code and message a client gets for a key status. */
public record StatusCodeConfig(int httpCode, String message) {

  static StatusCodeConfig read(ConfigReader r, StatusCodeConfig defaults) {
    return new StatusCodeConfig(r.integer("http_code", defaults.httpCode()), r.string("message", defaults.message()));
  }

  public JsonObject toJson() {
    return new JsonObject().put("http_code", httpCode).put("message", message);
  }
}
