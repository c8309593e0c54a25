package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code log}: the gateway's own runtime log (request logs are {@link LoggingConfig}). */
public record LogConfig(String level, String format, String output, LogFileConfig file) {

  static LogConfig read(ConfigReader r) {
    return new LogConfig(
        r.string("level", "info"),
        r.string("format", "json"),
        r.string("output", "stdout"),
        r.section("file", LogFileConfig::read));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("level", level)
        .put("format", format)
        .put("output", output)
        .put("file", file.toJson());
  }
}
