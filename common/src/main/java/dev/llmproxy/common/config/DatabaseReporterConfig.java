package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code usage.reporters[].database}: rows in {@code table} of {@code storage.databases[storage]}. */
public record DatabaseReporterConfig(String storage, String table) {

  static DatabaseReporterConfig read(ConfigReader r) {
    return new DatabaseReporterConfig(r.string("storage", ""), r.string("table", "usage_records"));
  }

  public JsonObject toJson() {
    return new JsonObject().put("storage", storage).put("table", table);
  }
}
