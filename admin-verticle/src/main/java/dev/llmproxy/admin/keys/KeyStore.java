package dev.llmproxy.admin.keys;

import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The builtin key store on SQLite, addressed by a key's SHA-256. All statements go through the Vert.x pool, which
 * runs JDBC on worker threads. Records come out as JSON with the field names the auth verticle reads.
 */
public final class KeyStore {

  /** The record fields that are JSON kept as text. */
  private static final List<String> JSON_ARRAYS = List.of("allowed_ips", "denied_ips");

  private final Pool pool;

  public KeyStore(Pool pool) {
    this.pool = pool;
  }

  /** What {@link #insert} found in the way: the key exists already. */
  public static final class DuplicateKey extends RuntimeException {
    DuplicateKey() {
      super("key exists", null, false, false);
    }
  }

  /**
   * Inserts a new key with these columns (defaults for the rest); fails with {@link DuplicateKey} when it exists.
   * The unique constraint decides, so two concurrent creates of one key cannot both succeed.
   */
  public Future<JsonObject> insert(String plainKey, Map<String, Object> columns) {
    String hash = KeyDigest.sha256Hex(plainKey);
    return insertRow(pool, plainKey, columns)
        .recover(failure -> Future.failedFuture(isUniqueViolation(failure) ? new DuplicateKey() : failure))
        .compose(done -> find(hash).map(Optional::orElseThrow));
  }

  private static Future<RowSet<Row>> insertRow(SqlClient client, String plainKey, Map<String, Object> columns) {
    String hash = KeyDigest.sha256Hex(plainKey);
    String now = now();
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("key", hash);
    row.put("key_hash", hash);
    row.put("key_prefix", KeyDigest.displayPrefix(plainKey));
    row.put("status", 0);
    row.put("starts_at", now);
    row.put("total_quota", 0L);
    row.put("used_quota", 0L);
    row.putAll(columns);
    row.put("created_at", now);
    row.put("updated_at", now);
    clearedNotNullsToDefaults(row);
    String names = String.join(", ", row.keySet().stream().map(KeyStore::quoted).toList());
    String marks = String.join(", ", row.keySet().stream().map(n -> "?").toList());
    return client.preparedQuery("INSERT INTO api_keys (" + names + ") VALUES (" + marks + ")")
        .execute(Sqlite.tuple(row.values()));
  }

  /** Sets these columns; empty when there is no such key. */
  public Future<Optional<JsonObject>> update(String hash, Map<String, Object> columns) {
    return updateRow(pool, hash, columns)
        .compose(updated -> updated ? find(hash) : Future.succeededFuture(Optional.empty()));
  }

  /** True when the key existed. */
  private static Future<Boolean> updateRow(SqlClient client, String hash, Map<String, Object> columns) {
    Map<String, Object> set = new LinkedHashMap<>(columns);
    clearedNotNullsToDefaults(set);
    set.put("updated_at", now());
    String assignments = String.join(", ", set.keySet().stream().map(n -> quoted(n) + " = ?").toList());
    List<Object> values = new ArrayList<>(set.values());
    values.add(hash);
    return client.preparedQuery("UPDATE api_keys SET " + assignments + " WHERE key_hash = ?")
        .execute(Sqlite.tuple(values))
        .map(result -> result.rowCount() > 0);
  }

  /**
   * {@code /admin/keys/sync}, in one transaction: each entry is created when new, else its given fields are set
   * (fields an entry leaves out keep their values, so a sync never wipes used quota it does not mention). Full
   * mode then deletes every key the list does not name; incremental mode deletes nothing.
   */
  public Future<SyncResult> sync(boolean full, Map<String, Map<String, Object>> entries) {
    return Sqlite.inTransaction(pool, conn -> conn.query("SELECT key_hash FROM api_keys").execute()
        .compose(rows -> {
          Set<String> existing = new HashSet<>();
          rows.forEach(row -> existing.add(row.getString("key_hash")));
          int[] counts = new int[3];
          Future<?> chain = Future.succeededFuture();
          Set<String> named = new HashSet<>();
          for (Map.Entry<String, Map<String, Object>> entry : entries.entrySet()) {
            String hash = KeyDigest.sha256Hex(entry.getKey());
            named.add(hash);
            if (existing.contains(hash)) {
              counts[1]++;
              chain = chain.compose(v -> updateRow(conn, hash, entry.getValue()));
            } else {
              counts[0]++;
              chain = chain.compose(v -> insertRow(conn, entry.getKey(), entry.getValue()));
            }
          }
          if (full) {
            List<Tuple> gone = existing.stream().filter(h -> !named.contains(h)).map(Tuple::of).toList();
            counts[2] = gone.size();
            if (!gone.isEmpty()) {
              chain = chain.compose(v -> conn.preparedQuery("DELETE FROM api_keys WHERE key_hash = ?").executeBatch(gone));
            }
          }
          return chain.map(v -> new SyncResult(counts[0], counts[1], counts[2]));
        }));
  }

  public record SyncResult(int created, int updated, int deleted) {
  }

  /** Starts the quota period again: nothing used, and a key refused for its quota is active again. */
  public Future<Optional<JsonObject>> resetQuota(String hash) {
    String now = now();
    return pool.preparedQuery("UPDATE api_keys SET used_quota = 0, last_reset_at = ?, updated_at = ?, "
            + "status = CASE WHEN status = 2 THEN 0 ELSE status END WHERE key_hash = ?")
        .execute(Tuple.of(now, now, hash))
        .compose(result -> result.rowCount() == 0 ? Future.succeededFuture(Optional.empty()) : find(hash));
  }

  /** True when a key was deleted. */
  public Future<Boolean> delete(String hash) {
    return pool.preparedQuery("DELETE FROM api_keys WHERE key_hash = ?").execute(Tuple.of(hash))
        .map(result -> result.rowCount() > 0);
  }

  public Future<Optional<JsonObject>> find(String hash) {
    return pool.preparedQuery("SELECT * FROM api_keys WHERE key_hash = ?").execute(Tuple.of(hash))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(record(rows.iterator().next())));
  }

  /**
   * One page, newest first (insertion order breaks ties within one millisecond), and the total count of the keys
   * that match; {@code search} (null for all) matches part of the name, user id or key prefix, case-insensitively.
   */
  public Future<Page> list(int offset, int limit, String search) {
    String where = "";
    Tuple parameters = Tuple.tuple();
    if (search != null) {
      where = " WHERE name LIKE ? ESCAPE '\\' OR user_id LIKE ? ESCAPE '\\' OR key_prefix LIKE ? ESCAPE '\\'";
      String pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
      parameters = Tuple.of(pattern, pattern, pattern);
    }
    Future<Long> total = pool.preparedQuery("SELECT COUNT(*) AS n FROM api_keys" + where).execute(parameters)
        .map(rows -> rows.iterator().next().getLong("n"));
    // inlined (they are ints): the JDBC client sends parameters SQLite declares untyped as text, and LIMIT '2'
    // is not a number to SQLite
    Future<List<JsonObject>> keys = pool.preparedQuery("SELECT * FROM api_keys" + where
            + " ORDER BY created_at DESC, rowid DESC LIMIT " + limit + " OFFSET " + offset)
        .execute(parameters)
        .map(rows -> {
          List<JsonObject> out = new ArrayList<>();
          rows.forEach(row -> out.add(record(row)));
          return out;
        });
    return Future.all(total, keys).map(all -> new Page(keys.result(), total.result()));
  }

  public record Page(List<JsonObject> keys, long total) {
  }

  /**
   * A row as the admin API and {@code llmproxy.keys.lookup} give it. {@code key} shows the display prefix: the
   * store cannot give the plain key back, and clients of the original expect the field.
   */
  static JsonObject record(Row row) {
    JsonObject json = new JsonObject();
    json.put("key", row.getString("key_prefix"));
    for (String column : KeySchema.COLUMNS.keySet()) {
      Object value = row.getValue(column);
      if (JSON_ARRAYS.contains(column)) {
        json.put(column, jsonArray(value));
      } else if (column.equals("metadata")) {
        json.put(column, jsonObject(value));
      } else {
        json.put(column, value);
      }
    }
    return json;
  }

  private static JsonArray jsonArray(Object text) {
    if (text == null || String.valueOf(text).isBlank()) {
      return new JsonArray();
    }
    try {
      return new JsonArray(String.valueOf(text));
    } catch (DecodeException e) {
      // written by another tool as a comma-separated list
      JsonArray out = new JsonArray();
      for (String part : String.valueOf(text).split("[,\\s]+")) {
        if (!part.isBlank()) {
          out.add(part);
        }
      }
      return out;
    }
  }

  private static JsonObject jsonObject(Object text) {
    if (text == null || String.valueOf(text).isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(String.valueOf(text));
    } catch (DecodeException e) {
      return new JsonObject();
    }
  }

  /** A null for a column that cannot be null means "back to its default" (all such defaults are 0). */
  private static void clearedNotNullsToDefaults(Map<String, Object> columns) {
    for (String notNull : List.of("status", "total_quota", "used_quota")) {
      if (columns.containsKey(notNull) && columns.get(notNull) == null) {
        columns.put(notNull, 0L);
      }
    }
  }

  private static String quoted(String column) {
    return '"' + column + '"';
  }

  /** RFC 3339 in UTC with a fixed width, so that text order is time order. */
  private static String now() {
    return Times.now();
  }

  /** SQLite's SQLITE_CONSTRAINT (19) and its extended codes, however the pool wraps it. */
  private static boolean isUniqueViolation(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && (sql.getErrorCode() == 19 || sql.getErrorCode() % 256 == 19)) {
        return true;
      }
      if (t.getMessage() != null && t.getMessage().contains("UNIQUE constraint failed")) {
        return true;
      }
    }
    return false;
  }
}
