package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code logging.request}: detailed request records in {@code storage.databases[storage]}, and/or one JSON line per
 * record in a file ({@code file.path}) and/or on stdout ({@code stdout}, seed 001's {@code storage: stdout}).
 */
public record RequestLogConfig(boolean enabled, String storage, String table, boolean includeBody,
    ScriptConfig script, LogTargetFileConfig file, boolean stdout) {

  /** Where seed 001's {@code storage: file} writes when {@code file.path} is not set. */
  public static final String DEFAULT_FILE = "./logs/requests.log";

  /** True when records are also written as JSON lines (to the file, stdout or both). */
  public boolean writesLines() {
    return stdout || !file.path().isEmpty();
  }

  static RequestLogConfig read(ConfigReader r) {
    return new RequestLogConfig(
        r.bool("enabled", false),
        r.string("storage", ""),
        r.string("table", "request_logs"),
        r.bool("include_body", false),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        r.section("file", f -> LogTargetFileConfig.read(f, "")),
        r.bool("stdout", false));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("storage", storage)
        .put("table", table)
        .put("include_body", includeBody)
        .put("script", script.toJson())
        .put("file", file.toJson())
        .put("stdout", stdout);
  }
}
