package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code discovery.sources[].database}: rows of {@code table} in {@code storage.databases[storage]};
 * {@code fields} maps our names (name, url, weight, status, ...) to the table's columns, unmapped
 * names keep their own column name.
 */
public record DatabaseDiscoveryConfig(String storage, String table, Map<String, String> fields) {

  public DatabaseDiscoveryConfig {
    fields = Immutables.map(fields);
  }

  /** The column holding {@code field}. */
  public String column(String field) {
    return fields.getOrDefault(field, field);
  }

  static DatabaseDiscoveryConfig read(ConfigReader r) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String f : new String[] {"name", "url", "weight", "status"}) {
      fields.put(f, f);
    }
    fields.putAll(r.stringMap("fields"));
    return new DatabaseDiscoveryConfig(r.string("storage", ""), r.string("table", "services"), fields);
  }

  public JsonObject toJson() {
    return new JsonObject().put("storage", storage).put("table", table).put("fields", JsonOut.strings(fields));
  }
}
