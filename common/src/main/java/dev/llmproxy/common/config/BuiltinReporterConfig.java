package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code usage.reporters[].builtin}: records in the admin SQLite store; 0 retention days keeps them forever. */
public record BuiltinReporterConfig(int retentionDays) {

  static BuiltinReporterConfig read(ConfigReader r) {
    return new BuiltinReporterConfig(r.integer("retention_days", 0));
  }

  public JsonObject toJson() {
    return new JsonObject().put("retention_days", retentionDays);
  }
}
