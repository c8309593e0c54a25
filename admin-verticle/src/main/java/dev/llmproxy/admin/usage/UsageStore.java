package dev.llmproxy.admin.usage;

import dev.llmproxy.admin.sqlite.Sqlite;
import dev.llmproxy.admin.sqlite.Times;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The builtin {@code usage_records}: batches written once per request id, totals read back, old rows removed. */
public final class UsageStore {

  private static final String INSERT = "INSERT OR IGNORE INTO " + UsageSchema.TABLE + " ("
      + String.join(", ", UsageSchema.COLUMNS.keySet()) + ") VALUES ("
      + String.join(", ", UsageSchema.COLUMNS.keySet().stream().map(c -> "?").toList()) + ")";

  private final Pool pool;

  public UsageStore(Pool pool) {
    this.pool = pool;
  }

  /** {@code stored}: new rows; {@code rejected}: records that could not be read (no request id, no time...). */
  public record Stored(int stored, int rejected) {
  }

  /**
   * Writes the records in one transaction; a request id already stored is skipped, so a batch sent again after a
   * lost reply stores nothing twice.
   */
  public Future<Stored> store(JsonArray records) {
    List<Tuple> rows = new ArrayList<>();
    int rejected = 0;
    for (Object item : records) {
      Tuple row = item instanceof JsonObject json ? row(json) : null;
      if (row == null) {
        rejected++;
      } else {
        rows.add(row);
      }
    }
    int unreadable = rejected;
    if (rows.isEmpty()) {
      return Future.succeededFuture(new Stored(0, unreadable));
    }
    return Sqlite.inTransaction(pool, conn -> changes(conn)
        .compose(before -> conn.preparedQuery(INSERT).executeBatch(rows)
            .compose(done -> changes(conn))
            .map(after -> new Stored((int) (after - before), unreadable))));
  }

  private static Future<Long> changes(SqlConnection conn) {
    return conn.query("SELECT total_changes() AS n").execute().map(rows -> rows.iterator().next().getLong("n"));
  }

  /** The columns of one record, or null when it cannot be stored. */
  private static Tuple row(JsonObject json) {
    UsageRecord record;
    try {
      record = UsageRecord.fromJson(json);
    } catch (RuntimeException e) {
      return null;
    }
    if (record.requestId() == null || record.requestId().isBlank()) {
      return null;
    }
    // The key's hash and masked form; a sender of old may still give only the raw key, which derives both.
    boolean hasKey = record.hasKey();
    return Sqlite.tuple(java.util.Arrays.asList(
        record.requestId(),
        hasKey ? record.maskedKey() : null,
        record.userId(),
        record.model(),
        record.promptTokens(),
        record.completionTokens(),
        record.totalTokens(),
        record.endpoint(),
        record.backendUrl(),
        record.statusCode(),
        record.latencyMs(),
        record.stream() ? 1 : 0,
        Times.format(record.timestamp()),
        hasKey ? record.keyHash() : null,
        record.keySource(),
        record.keyName(),
        record.method(),
        record.ttftMs(),
        record.estimated() ? 1 : 0,
        record.aborted() ? 1 : 0,
        record.clientIp(),
        record.cached() ? 1 : 0,
        record.metadata() == null ? null : record.metadata().encode(),
        record.cutOff()));
  }

  /** Totals, and per group when the query has one, of the records that match. */
  public Future<JsonObject> query(UsageQuery query) {
    String select = "SELECT " + (query.groupBy() == null ? "" : query.groupBy().select() + ", ")
        + "COUNT(*) AS requests, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, "
        + "COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(total_tokens), 0) AS total_tokens "
        + "FROM " + UsageSchema.TABLE + query.where();
    if (query.groupBy() != null) {
      select += " GROUP BY " + query.groupBy().column() + " ORDER BY " + query.groupBy().column();
    }
    return pool.preparedQuery(select).execute(Sqlite.tuple(query.parameters())).map(rows -> {
      JsonArray groups = new JsonArray();
      long[] totals = new long[4];
      for (Row row : rows) {
        JsonObject sums = sums(row);
        totals[0] += sums.getLong("requests");
        totals[1] += sums.getLong("prompt_tokens");
        totals[2] += sums.getLong("completion_tokens");
        totals[3] += sums.getLong("total_tokens");
        if (query.groupBy() != null) {
          groups.add(query.groupBy().label(row).mergeIn(sums));
        }
      }
      JsonObject result = new JsonObject().put("totals", new JsonObject().put("requests", totals[0])
          .put("prompt_tokens", totals[1]).put("completion_tokens", totals[2]).put("total_tokens", totals[3]));
      if (query.groupBy() != null) {
        result.put("group_by", query.groupBy().name).put("groups", groups);
      }
      return result;
    });
  }

  private static JsonObject sums(Row row) {
    return new JsonObject().put("requests", row.getLong("requests")).put("prompt_tokens", row.getLong("prompt_tokens"))
        .put("completion_tokens", row.getLong("completion_tokens")).put("total_tokens", row.getLong("total_tokens"));
  }

  /** Removes records older than {@code cutoff}; gives how many. */
  public Future<Integer> prune(Instant cutoff) {
    return pool.preparedQuery("DELETE FROM " + UsageSchema.TABLE + " WHERE created_at < ?")
        .execute(Tuple.of(Times.format(cutoff)))
        .map(result -> result.rowCount());
  }
}
