package dev.llmproxy.admin.usage;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The builtin {@code usage_records} table: the original's columns, then what a usage record adds. {@code api_key}
 * holds the masked key and {@code key_hash} its SHA-256 (queries by key go through the hash): no plain key is
 * stored. An original-format table gets the new columns, its plain keys hashed and masked, its times in the store's
 * form and duplicate request ids dropped (the first row stays), in one transaction on first start.
 */
public final class UsageSchema {

  static final String TABLE = "usage_records";
  /** The columns after {@code id}, in {@code CREATE TABLE} order. */
  static final Map<String, String> COLUMNS = new LinkedHashMap<>();
  private static final Logger LOG = LoggerFactory.getLogger(UsageSchema.class);

  static {
    COLUMNS.put("request_id", "TEXT");
    COLUMNS.put("api_key", "TEXT");
    COLUMNS.put("user_id", "TEXT");
    COLUMNS.put("model", "TEXT");
    COLUMNS.put("prompt_tokens", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("completion_tokens", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("total_tokens", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("endpoint", "TEXT");
    COLUMNS.put("backend_url", "TEXT");
    COLUMNS.put("status_code", "INTEGER");
    COLUMNS.put("latency_ms", "INTEGER");
    COLUMNS.put("streaming", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("created_at", "TEXT");
    COLUMNS.put("key_hash", "TEXT");
    COLUMNS.put("key_source", "TEXT");
    COLUMNS.put("key_name", "TEXT");
    COLUMNS.put("method", "TEXT");
    COLUMNS.put("ttft_ms", "INTEGER");
    COLUMNS.put("estimated", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("aborted", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("client_ip", "TEXT");
    COLUMNS.put("cached", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("metadata", "TEXT");
    COLUMNS.put("cut_off", "TEXT");
  }

  private UsageSchema() {
  }

  public static Future<Void> prepare(Pool pool) {
    return Sqlite.inTransaction(pool, conn -> Sqlite.columns(conn, TABLE)
        .compose(existing -> existing.isEmpty() ? create(conn) : migrate(conn, existing)));
  }

  private static String createTable() {
    StringBuilder ddl = new StringBuilder("CREATE TABLE IF NOT EXISTS " + TABLE
        + " (id INTEGER PRIMARY KEY AUTOINCREMENT");
    COLUMNS.forEach((name, type) -> ddl.append(", ").append(name).append(' ').append(type));
    return ddl.append(")").toString();
  }

  private static Future<Void> create(SqlConnection conn) {
    return conn.query(createTable()).execute().compose(done -> indexes(conn));
  }

  /** As for the keys: the original's table is rebuilt with our column types, an older one of ours extended. */
  private static Future<Void> migrate(SqlConnection conn, Set<String> existing) {
    Future<Void> chain = Sqlite.upgrade(conn, TABLE, createTable(), COLUMNS, "id", existing);
    return chain
        .compose(v -> conn.query("SELECT rowid AS r, api_key FROM " + TABLE
            + " WHERE key_hash IS NULL AND api_key IS NOT NULL AND api_key <> ''").execute())
        .compose(rows -> {
          List<Tuple> updates = new ArrayList<>();
          for (Row row : rows) {
            String plain = row.getString("api_key");
            updates.add(Tuple.of(KeyDigest.sha256Hex(plain), Secrets.mask(plain), row.getLong("r")));
          }
          if (updates.isEmpty()) {
            return Future.succeededFuture();
          }
          LOG.info("{}: hashing the keys of {} record(s) of an original-format store", TABLE, updates.size());
          return conn.preparedQuery("UPDATE " + TABLE + " SET key_hash = ?, api_key = ? WHERE rowid = ?")
              .executeBatch(updates);
        })
        .compose(v -> conn.query(Times.normaliseColumn(TABLE, "created_at")).execute())
        .compose(v -> conn.query("DELETE FROM " + TABLE + " WHERE request_id IS NOT NULL AND rowid NOT IN "
            + "(SELECT MIN(rowid) FROM " + TABLE + " WHERE request_id IS NOT NULL GROUP BY request_id)").execute())
        .compose(deleted -> {
          if (deleted.rowCount() > 0) {
            LOG.warn("{}: dropped {} record(s) repeating a request id", TABLE, deleted.rowCount());
          }
          return indexes(conn);
        });
  }

  private static Future<Void> indexes(SqlConnection conn) {
    return conn.query("CREATE UNIQUE INDEX IF NOT EXISTS idx_usage_records_request_id ON " + TABLE + "(request_id)")
        .execute()
        .compose(v -> conn.query("CREATE INDEX IF NOT EXISTS idx_usage_records_created_at ON " + TABLE
            + "(created_at)").execute())
        .compose(v -> conn.query("CREATE INDEX IF NOT EXISTS idx_usage_records_key_hash ON " + TABLE
            + "(key_hash, created_at)").execute())
        .mapEmpty();
  }
}
