package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.DatabaseDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.storage.Dialect;
import dev.llmproxy.common.storage.SqlDatabase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code type: database}: the rows of {@code table} (default {@code services}, the original's columns
 * {@code id, name, url, type, models, weight, priority, status, health_status}) whose status is {@code enabled}.
 * {@code fields} renames columns; a column the table lacks is simply not read (only the url is required).
 * {@code models} may hold a JSON list or comma-separated names; a {@code health_status} of unhealthy/down/offline
 * marks the backend unhealthy. Queries run on the Vert.x pool of {@code storage.databases[storage]}.
 */
public final class DatabaseSource extends PollingSource {

  private final SqlDatabase database;
  private final DatabaseDiscoveryConfig config;
  private final BackendEntries entries;
  private final String query;

  public DatabaseSource(Vertx vertx, SqlDatabase database, DatabaseDiscoveryConfig config, Duration interval,
                        BackendEntries entries) {
    super(vertx, interval);
    this.database = database;
    this.config = config;
    this.entries = entries;
    // SELECT *: the original's table has more columns than the mapping names, and users' tables fewer.
    this.query = "SELECT * FROM " + Dialect.identifier(config.table()) + " WHERE "
        + Dialect.identifier(config.column("status")) + " = " + database.dialect().placeholder(1);
  }

  @Override
  protected Future<List<Backend>> fetch() {
    return database.pool().preparedQuery(query).execute(Tuple.of("enabled")).map(rows -> {
      List<Backend> list = new ArrayList<>();
      for (Row row : rows) {
        list.add(backend(row));
      }
      return list;
    });
  }

  private Backend backend(Row row) {
    String url = text(row, "url");
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("a row of " + config.table() + " has no " + config.column("url"));
    }
    JsonObject entry = new JsonObject().put("url", url.trim());
    String name = text(row, "name");
    if (name != null && !name.isBlank()) {
      entry.put("name", name);
    }
    String weight = text(row, "weight");
    if (weight != null && !weight.isBlank()) {
      entry.put("weight", new java.math.BigDecimal(weight.trim()).intValue());
    }
    String models = text(row, "models");
    if (models != null && !models.isBlank()) {
      entry.put("models", models(models.trim()));
    }
    String health = text(row, "health_status");
    boolean healthy = health == null || !List.of("unhealthy", "down", "offline").contains(health.trim().toLowerCase(Locale.ROOT));
    Backend backend = entries.fromJson(entry, null);
    return healthy ? backend : backend.withHealthy(false);
  }

  private static JsonArray models(String text) {
    if (text.startsWith("[")) {
      return new JsonArray(text);
    }
    JsonArray out = new JsonArray();
    for (String model : text.split(",")) {
      if (!model.isBlank()) {
        out.add(model.trim());
      }
    }
    return out;
  }

  /** The mapped column's value as text, or null when the table has no such column or the value is NULL. */
  private String text(Row row, String field) {
    int index = row.getColumnIndex(config.column(field));
    if (index < 0) {
      return null;
    }
    Object value = row.getValue(index);
    if (value == null) {
      return null;
    }
    if (value instanceof io.vertx.core.buffer.Buffer buffer) {
      return buffer.toString();
    }
    return value.toString();
  }
}
