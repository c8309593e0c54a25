package dev.llmproxy.admin.keys;

import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code api_keys} table: the original's columns and ours. The original's primary key {@code key} is kept so
 * that its indexes and tools still find a key column, but it holds the SHA-256 like {@code key_hash}: no column
 * ever holds a plain key. An original-format file (plain keys in {@code key}, no {@code key_hash}) is migrated in
 * place on first start, in one transaction: the missing columns are added, each plain key is replaced by its hash
 * and a display prefix, and the original's times are rewritten in the store's RFC 3339 form.
 */
public final class KeySchema {

  /** Every column after {@code key}, with its type; the order is the order of {@code CREATE TABLE}. */
  static final Map<String, String> COLUMNS = new LinkedHashMap<>();
  private static final List<String> TIME_COLUMNS = List.of("starts_at", "expires_at", "created_at", "updated_at",
      "last_reset_at");
  private static final Logger LOG = LoggerFactory.getLogger(KeySchema.class);

  static {
    COLUMNS.put("key_hash", "TEXT");
    COLUMNS.put("key_prefix", "TEXT");
    COLUMNS.put("name", "TEXT");
    COLUMNS.put("user_id", "TEXT");
    COLUMNS.put("status", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("starts_at", "TEXT");
    COLUMNS.put("expires_at", "TEXT");
    COLUMNS.put("created_at", "TEXT");
    COLUMNS.put("updated_at", "TEXT");
    COLUMNS.put("total_quota", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("used_quota", "INTEGER NOT NULL DEFAULT 0");
    COLUMNS.put("quota_reset_period", "TEXT");
    COLUMNS.put("last_reset_at", "TEXT");
    COLUMNS.put("allowed_ips", "TEXT");
    COLUMNS.put("denied_ips", "TEXT");
    COLUMNS.put("rpm", "INTEGER");
    COLUMNS.put("tpm", "INTEGER");
    COLUMNS.put("max_concurrent", "INTEGER");
    COLUMNS.put("metadata", "TEXT");
  }

  private KeySchema() {
  }

  public static Future<Void> prepare(Pool pool) {
    return Sqlite.inTransaction(pool, conn -> Sqlite.columns(conn, "api_keys")
        .compose(existing -> existing.isEmpty() ? create(conn) : migrate(conn, existing)));
  }

  private static String createTable() {
    StringBuilder ddl = new StringBuilder("CREATE TABLE IF NOT EXISTS api_keys (\"key\" TEXT PRIMARY KEY");
    COLUMNS.forEach((name, type) -> ddl.append(", ").append(name).append(' ').append(type));
    return ddl.append(")").toString();
  }

  private static Future<Void> create(SqlConnection conn) {
    return conn.query(createTable()).execute().compose(done -> indexes(conn));
  }

  /**
   * The original's table (no {@code key_hash}) is rebuilt with our column types; an older one of ours gets the
   * columns it lacks. Then the rows that still hold a plain key are hashed.
   */
  private static Future<Void> migrate(SqlConnection conn, Set<String> existing) {
    Future<Void> chain = Sqlite.upgrade(conn, "api_keys", createTable(), COLUMNS, "key", existing);
    return chain.compose(v -> conn.query("SELECT \"key\" FROM api_keys WHERE key_hash IS NULL").execute())
        .compose(rows -> {
          List<Tuple> updates = new ArrayList<>();
          for (Row row : rows) {
            String plain = row.getString("key");
            String hash = KeyDigest.sha256Hex(plain);
            updates.add(Tuple.of(hash, hash, KeyDigest.displayPrefix(plain), plain));
          }
          if (updates.isEmpty()) {
            return Future.succeededFuture();
          }
          LOG.info("api_keys: hashing {} plain key(s) of an original-format store", updates.size());
          return conn.preparedQuery("UPDATE api_keys SET \"key\" = ?, key_hash = ?, key_prefix = ? WHERE \"key\" = ?")
              .executeBatch(updates);
        })
        .compose(v -> normaliseTimes(conn))
        .compose(v -> indexes(conn));
  }

  private static Future<Void> normaliseTimes(SqlConnection conn) {
    Future<?> chain = Future.succeededFuture();
    for (String column : TIME_COLUMNS) {
      chain = chain.compose(v -> conn.query(Times.normaliseColumn("api_keys", column)).execute());
    }
    return chain.mapEmpty();
  }

  private static Future<Void> indexes(SqlConnection conn) {
    return conn.query("CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_key_hash ON api_keys(key_hash)").execute()
        .compose(v -> conn.query("CREATE INDEX IF NOT EXISTS idx_api_keys_status ON api_keys(status)").execute())
        .compose(v -> conn.query("CREATE INDEX IF NOT EXISTS idx_api_keys_user_id ON api_keys(user_id)").execute())
        .mapEmpty();
  }
}
