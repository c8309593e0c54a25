package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code logging}: request and access logs (the runtime log is {@link LogConfig}). */
public record LoggingConfig(boolean enabled, RequestLogConfig request, AccessLogConfig access) {

  static LoggingConfig read(ConfigReader r) {
    return new LoggingConfig(
        r.bool("enabled", false),
        r.section("request", RequestLogConfig::read),
        r.section("access", AccessLogConfig::read));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("request", request.toJson()).put("access", access.toJson());
  }
}
