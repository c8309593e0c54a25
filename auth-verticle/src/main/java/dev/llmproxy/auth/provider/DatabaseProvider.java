package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.config.DatabaseAuthConfig;
import dev.llmproxy.common.storage.Dialect;
import dev.llmproxy.common.storage.SqlDatabase;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.temporal.Temporal;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** {@code type: database}: {@code SELECT <fields> FROM <table> WHERE <key_column> = <placeholder>}, first row. */
public final class DatabaseProvider implements Provider {

  private final String name;
  private final SqlDatabase database;
  private final String sql;
  private final long timeoutMs;

  public DatabaseProvider(String name, SqlDatabase database, DatabaseAuthConfig config, long timeoutMs) {
    this.name = name;
    this.database = database;
    this.timeoutMs = timeoutMs;
    String fields = config.fields().isEmpty() ? "*"
        : config.fields().stream().map(Dialect::identifier).collect(Collectors.joining(", "));
    this.sql = "SELECT " + fields + " FROM " + Dialect.identifier(config.table()) + " WHERE "
        + Dialect.identifier(config.keyColumn()) + " = " + database.dialect().placeholder(1);
  }

  /** The statement this provider runs, for logs and tests. */
  public String sql() {
    return sql;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    return database.pool().preparedQuery(sql).execute(Tuple.of(check.apiKey()))
        .map(rows -> {
          var it = rows.iterator();
          return it.hasNext() ? Lookup.found(toJson(it.next())) : Lookup.NOT_FOUND;
        })
        .timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  private static JsonObject toJson(Row row) {
    JsonObject record = new JsonObject();
    for (int i = 0; i < row.size(); i++) {
      record.put(row.getColumnName(i).toLowerCase(), jsonValue(row.getValue(i)));
    }
    return record;
  }

  private static Object jsonValue(Object value) {
    if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean
        || value instanceof JsonObject || value instanceof JsonArray) {
      return value;
    }
    if (value instanceof Buffer buffer) {
      return buffer.toString();
    }
    if (value instanceof Temporal temporal) {
      return temporal.toString(); // LocalDateTime from DATETIME columns: read as UTC by the rules
    }
    return value.toString();
  }
}
