package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code auth.pipeline[].database}: {@code SELECT <fields> FROM <table> WHERE <keyColumn> = ?}. */
public record DatabaseAuthConfig(String storage, String table, String keyColumn, List<String> fields) {

  public DatabaseAuthConfig {
    fields = Immutables.list(fields);
  }

  static DatabaseAuthConfig read(ConfigReader r) {
    return new DatabaseAuthConfig(
        r.string("storage", ""),
        r.string("table", "api_keys"),
        r.string("key_column", "api_key"),
        r.strings("fields", List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("storage", storage)
        .put("table", table)
        .put("key_column", keyColumn)
        .put("fields", JsonOut.array(fields));
  }
}
