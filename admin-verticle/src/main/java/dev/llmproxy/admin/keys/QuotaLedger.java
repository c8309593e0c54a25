package dev.llmproxy.admin.keys;

import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import dev.llmproxy.common.model.QuotaPeriods;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Used quota of builtin keys: charges counted once per request id ({@code quota_charges} remembers the ids it has
 * charged), and the resets at the start of each key's period. Periods start in UTC: daily at midnight, weekly on
 * Monday, monthly on the 1st, as the auth verticle reckons them.
 */
public final class QuotaLedger {

  private static final List<String> PERIODS = List.of("daily", "weekly", "monthly");

  private final Pool pool;

  public QuotaLedger(Pool pool) {
    this.pool = pool;
  }

  public static Future<Void> prepare(Pool pool) {
    return pool.query("CREATE TABLE IF NOT EXISTS quota_charges (request_id TEXT PRIMARY KEY, key_hash TEXT, "
            + "tokens INTEGER NOT NULL, charged_at TEXT NOT NULL, batch_id TEXT)").execute()
        .compose(v -> pool.query("CREATE INDEX IF NOT EXISTS idx_quota_charges_charged_at ON quota_charges(charged_at)")
            .execute())
        .compose(v -> pool.query("CREATE INDEX IF NOT EXISTS idx_quota_charges_batch ON quota_charges(batch_id)")
            .execute())
        .mapEmpty();
  }

  /** The outcome of a charge: {@code usedQuota} is null when the store has no such key. */
  public record Charge(boolean charged, Long usedQuota) {
  }

  /**
   * Adds {@code tokens} to the key's {@code used_quota} unless this request id was charged before, in one
   * transaction so that a retry after a lost reply cannot charge twice. A key the store does not hold is not
   * charged and its request id not remembered.
   */
  public Future<Charge> charge(String requestId, String keyHash, long tokens) {
    return Sqlite.inTransaction(pool, conn -> conn.preparedQuery("SELECT used_quota FROM api_keys WHERE key_hash = ?")
        .execute(Tuple.of(keyHash))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(new Charge(false, null));
          }
          long used = rows.iterator().next().getLong("used_quota");
          return conn.preparedQuery("INSERT OR IGNORE INTO quota_charges (request_id, key_hash, tokens, charged_at) "
                  + "VALUES (?, ?, ?, ?)")
              .execute(Tuple.of(requestId, keyHash, tokens, Times.now()))
              .compose(inserted -> inserted.rowCount() == 0
                  ? Future.succeededFuture(new Charge(false, used))
                  : conn.preparedQuery("UPDATE api_keys SET used_quota = used_quota + ? WHERE key_hash = ?")
                      .execute(Tuple.of(tokens, keyHash))
                      .map(updated -> new Charge(true, used + tokens)));
        }));
  }

  /** One charge of a batch. */
  public record ChargeRequest(String requestId, String keyHash, long tokens) {
  }

  /**
   * Charges a batch in one transaction of three statements, whatever its size: the new request ids of keys the
   * store holds are remembered under one batch id, each key gets the sum of its new charges, and the keys charged
   * are read back. Per-charge statements cost about 3 ms each through the pool, which capped the usage verticle at
   * a few hundred charges a second. Gives each charged key's hash with its new {@code used_quota}.
   */
  public Future<Map<String, Long>> chargeAll(List<ChargeRequest> charges) {
    if (charges.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    String batchId = UUID.randomUUID().toString();
    StringBuilder values = new StringBuilder();
    List<Object> params = new ArrayList<>(charges.size() * 3 + 2);
    params.add(Times.now());
    params.add(batchId);
    for (ChargeRequest charge : charges) {
      values.append(values.isEmpty() ? "(?, ?, ?)" : ", (?, ?, ?)");
      params.add(charge.requestId());
      params.add(charge.keyHash());
      params.add(charge.tokens());
    }
    String inBatch = "SELECT key_hash FROM quota_charges WHERE batch_id = ?";
    return Sqlite.inTransaction(pool, conn -> conn.preparedQuery(
            "INSERT OR IGNORE INTO quota_charges (request_id, key_hash, tokens, charged_at, batch_id) "
                + "SELECT column1, column2, column3, ?, ? FROM (VALUES " + values + ") "
                + "WHERE column2 IN (SELECT key_hash FROM api_keys)")
        .execute(Tuple.wrap(params))
        .compose(inserted -> inserted.rowCount() == 0 ? Future.succeededFuture(Map.<String, Long>of()) : conn
            .preparedQuery("UPDATE api_keys SET used_quota = used_quota + (SELECT SUM(c.tokens) FROM quota_charges c "
                + "WHERE c.batch_id = ? AND c.key_hash = api_keys.key_hash) WHERE key_hash IN (" + inBatch + ")")
            .execute(Tuple.of(batchId, batchId))
            .compose(updated -> conn.preparedQuery("SELECT key_hash, used_quota FROM api_keys WHERE key_hash IN ("
                + inBatch + ")").execute(Tuple.of(batchId)))
            .map(rows -> {
              Map<String, Long> charged = new LinkedHashMap<>();
              for (Row row : rows) {
                charged.put(row.getString("key_hash"), row.getLong("used_quota"));
              }
              return charged;
            })));
  }

  /** Forgets charged request ids older than {@code cutoff}; a retry older than that is not expected. */
  public Future<Integer> pruneCharges(Instant cutoff) {
    return pool.preparedQuery("DELETE FROM quota_charges WHERE charged_at < ?").execute(Tuple.of(Times.format(cutoff)))
        .map(result -> result.rowCount());
  }

  /**
   * Resets {@code used_quota} of every key whose period started after its last reset (its creation when it was
   * never reset), and gives their hashes. A key stopped for its quota (status 2) is active again.
   */
  public Future<List<String>> resetDue(Instant now) {
    String stamp = Times.format(now);
    return Sqlite.inTransaction(pool, conn -> {
      List<String> reset = new ArrayList<>();
      Future<?> chain = Future.succeededFuture();
      for (String period : PERIODS) {
        String start = Times.format(QuotaPeriods.start(period, now).orElseThrow());
        Tuple due = Tuple.of(period, start);
        String where = " WHERE quota_reset_period = ? AND COALESCE(last_reset_at, created_at, '') < ?";
        chain = chain
            .compose(v -> conn.preparedQuery("SELECT key_hash FROM api_keys" + where).execute(due))
            .compose(rows -> {
              for (Row row : rows) {
                reset.add(row.getString("key_hash"));
              }
              return rows.size() == 0 ? Future.succeededFuture() : conn.preparedQuery(
                      "UPDATE api_keys SET used_quota = 0, last_reset_at = ?, updated_at = ?, "
                          + "status = CASE WHEN status = 2 THEN 0 ELSE status END" + where)
                  .execute(Tuple.of(stamp, stamp, period, start));
            });
      }
      return chain.map(v -> reset);
    });
  }
}
