package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code logging.access}: {@code format} combined or json, {@code output} file or stdout. */
public record AccessLogConfig(boolean enabled, String format, String output, ScriptConfig script,
    LogTargetFileConfig file) {

  static AccessLogConfig read(ConfigReader r) {
    String output = r.string("output", "");
    if (r.has("storage")) {
      // Seed 001 named the target "storage" (file / stdout).
      String legacy = r.string("storage", "");
      r.problems().warn(r.path("storage"), "deprecated, use " + r.path("output"));
      if (output.isEmpty()) {
        output = legacy;
      }
    }
    return new AccessLogConfig(
        r.bool("enabled", false),
        r.string("format", "combined"),
        output.isEmpty() ? "stdout" : output,
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)),
        r.section("file", f -> LogTargetFileConfig.read(f, "./logs/access.log")));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("format", format)
        .put("output", output)
        .put("script", script.toJson())
        .put("file", file.toJson());
  }
}
