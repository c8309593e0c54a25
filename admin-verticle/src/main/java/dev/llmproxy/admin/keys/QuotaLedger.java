package dev.llmproxy.admin.keys;

import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import dev.llmproxy.common.model.QuotaPeriods;
import dev.llmproxy.common.model.StaticKeyUsage;
import dev.llmproxy.common.util.Timestamps;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Used quota of builtin keys: charges counted once per request id ({@code quota_charges} remembers the ids it has
 * charged), and the resets at the start of each key's period. Periods start in UTC: daily at midnight, weekly on
 * Monday, monthly on the 1st, as the auth verticle reckons them.
 *
 * <p>Also the usage of static keys (keys of the config, which {@code api_keys} does not hold): {@code static_key_usage}
 * by the key's hash, charged once per request id through the same {@code quota_charges}, with the period rule of
 * {@link StaticKeyUsage#charge} (the first charge of a new period starts it again; no timer is needed).
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
        .compose(v -> pool.query("CREATE TABLE IF NOT EXISTS static_key_usage (key_hash TEXT PRIMARY KEY, "
            + "used_quota INTEGER NOT NULL DEFAULT 0, last_reset_at TEXT, base_used_quota INTEGER NOT NULL DEFAULT 0, "
            + "updated_at TEXT)").execute())
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

  /**
   * One charge of a batch.
   *
   * @param staticKey null for a builtin key; for a static key, its configured period and {@code used_quota}
   */
  public record ChargeRequest(String requestId, String keyHash, long tokens, StaticKey staticKey) {

    public ChargeRequest(String requestId, String keyHash, long tokens) {
      this(requestId, keyHash, tokens, null);
    }
  }

  /** What the config says of a static key that its charges need. */
  public record StaticKey(String quotaResetPeriod, long configuredUsedQuota) {
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
    String inBatch = "SELECT key_hash FROM quota_charges WHERE batch_id = ?";
    String heldKeys = "WHERE column2 IN (SELECT key_hash FROM api_keys)";
    return Sqlite.inTransaction(pool, conn -> rememberNew(conn, batchId, charges, heldKeys)
        .compose(inserted -> inserted == 0 ? Future.succeededFuture(Map.<String, Long>of()) : conn
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

  /**
   * Remembers the request ids of {@code charges} not charged before under {@code batchId}, in one statement;
   * {@code where} filters the rows (on {@code column2}, the key hash). @return how many were new
   */
  private static Future<Integer> rememberNew(SqlConnection conn, String batchId, List<ChargeRequest> charges,
      String where) {
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
    return conn.preparedQuery("INSERT OR IGNORE INTO quota_charges (request_id, key_hash, tokens, charged_at, batch_id) "
            + "SELECT column1, column2, column3, ?, ? FROM (VALUES " + values + ") " + where)
        .execute(Tuple.wrap(params))
        .map(inserted -> inserted.rowCount());
  }

  /**
   * Charges static keys' requests in one transaction: the new request ids are remembered, then each key charged gets
   * the sum of its new tokens by {@link StaticKeyUsage#charge}. Gives each charged key's hash with its new
   * {@code used_quota}.
   */
  public Future<Map<String, Long>> chargeStatic(List<ChargeRequest> charges) {
    if (charges.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    Map<String, StaticKey> keys = new LinkedHashMap<>();
    charges.forEach(charge -> keys.putIfAbsent(charge.keyHash(), charge.staticKey()));
    String batchId = UUID.randomUUID().toString();
    Instant now = Instant.now();
    return Sqlite.inTransaction(pool, conn -> rememberNew(conn, batchId, charges, "")
        .compose(inserted -> inserted == 0 ? Future.succeededFuture(Map.<String, Long>of()) : conn
            .preparedQuery("SELECT key_hash, SUM(tokens) AS tokens FROM quota_charges WHERE batch_id = ? GROUP BY key_hash")
            .execute(Tuple.of(batchId))
            .compose(sums -> {
              Map<String, Long> charged = new LinkedHashMap<>();
              Future<?> chain = Future.succeededFuture();
              for (Row sum : sums) {
                String hash = sum.getString("key_hash");
                long tokens = sum.getLong("tokens");
                StaticKey key = keys.get(hash);
                chain = chain.compose(v -> staticUsage(conn, hash)).compose(current -> {
                  StaticKeyUsage next = StaticKeyUsage.charge(current.orElse(null), tokens, key.quotaResetPeriod(),
                      key.configuredUsedQuota(), now);
                  charged.put(hash, next.usedQuota());
                  return conn.preparedQuery("INSERT OR REPLACE INTO static_key_usage (key_hash, used_quota, "
                          + "last_reset_at, base_used_quota, updated_at) VALUES (?, ?, ?, ?, ?)")
                      .execute(Tuple.of(hash, next.usedQuota(),
                          next.lastResetAt() == null ? null : Times.format(next.lastResetAt()), next.baseUsedQuota(),
                          Times.format(now)));
                });
              }
              return chain.map(v -> charged);
            })));
  }

  /** A static key's usage; empty when it was never charged. */
  public Future<Optional<StaticKeyUsage>> staticUsage(String keyHash) {
    return pool.withConnection(conn -> staticUsage(conn, keyHash));
  }

  private static Future<Optional<StaticKeyUsage>> staticUsage(SqlConnection conn, String keyHash) {
    return conn.preparedQuery("SELECT used_quota, last_reset_at, base_used_quota FROM static_key_usage WHERE key_hash = ?")
        .execute(Tuple.of(keyHash))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.<StaticKeyUsage>empty();
          }
          Row row = rows.iterator().next();
          return Optional.of(new StaticKeyUsage(row.getLong("used_quota"),
              Timestamps.of(row.getValue("last_reset_at")).orElse(null), row.getLong("base_used_quota")));
        });
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
