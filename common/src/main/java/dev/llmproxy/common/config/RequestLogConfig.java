package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code logging.request}: detailed request records in {@code storage.databases[storage]} and/or a file. */
public record RequestLogConfig(boolean enabled, String storage, String table, boolean includeBody,
    ScriptConfig script, LogTargetFileConfig file) {

  static RequestLogConfig read(ConfigReader r) {
    return new RequestLogConfig(
        r.bool("enabled", false),
        r.string("storage", ""),
        r.string("table", "request_logs"),
        r.bool("include_body", false),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        r.section("file", f -> LogTargetFileConfig.read(f, "")));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("storage", storage)
        .put("table", table)
        .put("include_body", includeBody)
        .put("script", script.toJson())
        .put("file", file.toJson());
  }
}
