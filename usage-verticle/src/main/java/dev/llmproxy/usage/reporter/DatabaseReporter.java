package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.storage.Dialect;
import dev.llmproxy.common.storage.SqlDatabase;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * {@code type: database}: rows in {@code table} (default {@code usage_records}) of a {@code storage.databases} entry,
 * with the original's columns. The table is created when missing, with a unique {@code request_id}; inserts are
 * batched and ignore a request id already stored ({@code ON CONFLICT DO NOTHING}, {@code INSERT IGNORE},
 * {@code INSERT OR IGNORE}), so a delivery repeated after a crash adds nothing. The key is stored masked.
 */
public final class DatabaseReporter implements Reporter {

  /** The columns written, in the order of the placeholders; also the payload's field names. */
  static final List<String> COLUMNS = List.of("request_id", "timestamp", "api_key", "user_id", "method", "path",
      "backend_url", "status_code", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens");
  static final String METADATA = "metadata";
  /** Why the gateway ended the answer early ({@code quota_exceeded}), null when it did not. */
  static final String CUT_OFF = "cut_off";
  /** Ours, after the original's: added to a table made without them, written when the table has them. */
  private static final List<String> ADDED = List.of(METADATA, CUT_OFF);

  private final String name;
  private final SqlDatabase database;
  private final String table;
  private boolean tableReady;
  /** The columns the table has of those written: {@link #COLUMNS}, then those of {@link #ADDED} the table has. */
  private List<String> columns = COLUMNS;

  public DatabaseReporter(String name, SqlDatabase database, String table) {
    this.name = name;
    this.database = database;
    this.table = Dialect.identifier(table.isEmpty() ? "usage_records" : table);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int maxBatch() {
    // One statement a read of the journal: 500 rows of 14 values stay under every driver's parameter limit
    // (SQLite's 32,766 the lowest), and each statement's commit costs the same whatever its size.
    return 500;
  }

  @Override
  public JsonObject payload(UsageRecord record) {
    return new JsonObject()
        .put("request_id", record.requestId())
        .put("timestamp", record.timestamp().toString())
        .put("api_key", record.maskedKey())
        .put("user_id", record.userId())
        .put("method", record.method())
        .put("path", record.endpoint())
        .put("backend_url", record.backendUrl())
        .put("status_code", record.statusCode())
        .put("latency_ms", record.latencyMs())
        .put("prompt_tokens", record.promptTokens())
        .put("completion_tokens", record.completionTokens())
        .put("total_tokens", record.totalTokens())
        .put(METADATA, record.metadata() == null ? null : record.metadata().copy())
        .put(CUT_OFF, record.cutOff());
  }

  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    if (payloads.isEmpty()) {
      return Future.succeededFuture();
    }
    Future<Void> ready = tableReady ? Future.succeededFuture()
        : database.pool().query(createTable()).execute().compose(r -> addedColumns())
            .onSuccess(r -> tableReady = true).mapEmpty();
    return ready.compose(v -> database.pool().preparedQuery(insert(payloads.size())).execute(values(payloads)))
        .mapEmpty();
  }

  /**
   * A table made before a column of {@link #ADDED} existed gets it; whether it has each is then asked, so that a table
   * this reporter may not alter still gets its rows (without that column).
   */
  private Future<Void> addedColumns() {
    List<String> found = new java.util.ArrayList<>(COLUMNS);
    Future<Void> chain = Future.succeededFuture();
    for (String column : ADDED) {
      chain = chain.compose(v -> database.pool().query("ALTER TABLE " + table + " ADD COLUMN " + column + " TEXT")
          .execute().<Void>mapEmpty().recover(alreadyThere -> Future.succeededFuture())
          .compose(added -> database.pool().query("SELECT " + column + " FROM " + table + " WHERE 1 = 0").execute())
          .map(has -> found.add(column))
          .<Void>mapEmpty()
          .recover(none -> Future.succeededFuture()));
    }
    return chain.onSuccess(v -> columns = List.copyOf(found));
  }

  String createTable() {
    return switch (database.dialect()) {
      case POSTGRES -> "CREATE TABLE IF NOT EXISTS " + table + " (id BIGSERIAL PRIMARY KEY,"
          + " request_id VARCHAR(128) NOT NULL UNIQUE, timestamp TIMESTAMPTZ NOT NULL, api_key VARCHAR(255),"
          + " user_id VARCHAR(255), method VARCHAR(16), path VARCHAR(1024), backend_url VARCHAR(1024),"
          + " status_code INTEGER, latency_ms BIGINT, prompt_tokens BIGINT, completion_tokens BIGINT,"
          + " total_tokens BIGINT, request_body TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP)";
      case MYSQL -> "CREATE TABLE IF NOT EXISTS " + table + " (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
          + " request_id VARCHAR(128) NOT NULL, `timestamp` DATETIME(3) NOT NULL, api_key VARCHAR(255),"
          + " user_id VARCHAR(255), method VARCHAR(16), path VARCHAR(1024), backend_url VARCHAR(1024),"
          + " status_code INT, latency_ms BIGINT, prompt_tokens BIGINT, completion_tokens BIGINT,"
          + " total_tokens BIGINT, request_body MEDIUMTEXT,"
          + " created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), UNIQUE KEY uq_request_id (request_id))";
      case SQLITE -> "CREATE TABLE IF NOT EXISTS " + table + " (id INTEGER PRIMARY KEY AUTOINCREMENT,"
          + " request_id TEXT NOT NULL UNIQUE, timestamp TEXT NOT NULL, api_key TEXT, user_id TEXT, method TEXT,"
          + " path TEXT, backend_url TEXT, status_code INTEGER, latency_ms INTEGER, prompt_tokens INTEGER,"
          + " completion_tokens INTEGER, total_tokens INTEGER, request_body TEXT,"
          + " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)";
    };
  }

  private String insert(int rows) {
    Dialect dialect = database.dialect();
    String names = dialect == Dialect.MYSQL
        ? String.join(", ", columns).replace("timestamp", "`timestamp`") : String.join(", ", columns);
    StringBuilder sql = new StringBuilder(switch (dialect) {
      case POSTGRES -> "INSERT INTO ";
      case MYSQL -> "INSERT IGNORE INTO ";
      case SQLITE -> "INSERT OR IGNORE INTO ";
    }).append(table).append(" (").append(names).append(") VALUES ");
    int index = 1;
    for (int row = 0; row < rows; row++) {
      sql.append(row == 0 ? "(" : ", (");
      for (int c = 0; c < columns.size(); c++) {
        sql.append(c == 0 ? "" : ", ").append(dialect.placeholder(index++));
      }
      sql.append(')');
    }
    if (dialect == Dialect.POSTGRES) {
      sql.append(" ON CONFLICT DO NOTHING");
    }
    return sql.toString();
  }

  private Tuple values(List<JsonObject> payloads) {
    Tuple tuple = Tuple.tuple();
    for (JsonObject row : payloads) {
      for (String column : columns) {
        Object value = row.getValue(column);
        tuple.addValue(column.equals("timestamp") ? timestamp(value)
            : column.equals(METADATA) && value != null && !(value instanceof String) ? io.vertx.core.json.Json.encode(value)
            : value);
      }
    }
    return tuple;
  }

  /** The column's type differs by database; a value a script broke becomes the time of writing. */
  private Object timestamp(Object value) {
    if (database.dialect() == Dialect.SQLITE && value instanceof String text && !text.isEmpty()) {
      return text;
    }
    Instant instant;
    try {
      instant = value == null ? Instant.now() : Instant.parse(value.toString());
    } catch (DateTimeParseException e) {
      instant = Instant.now();
    }
    return switch (database.dialect()) {
      case POSTGRES -> instant.atOffset(ZoneOffset.UTC);
      case MYSQL -> LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
      case SQLITE -> instant.toString();
    };
  }
}
