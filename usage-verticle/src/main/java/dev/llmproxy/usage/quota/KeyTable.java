package dev.llmproxy.usage.quota;

import dev.llmproxy.common.config.DatabaseAuthConfig;
import dev.llmproxy.common.model.QuotaPeriods;
import dev.llmproxy.common.storage.Dialect;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.common.util.Timestamps;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowIterator;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.desc.ColumnDescriptor;
import java.sql.JDBCType;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A database auth provider's key table as quota charges see it. A table with {@code quota_reset_period} and
 * {@code last_reset_at} columns gets the period rule of {@link QuotaPeriods#charge} (the key row is read and written
 * under a row lock); any other table only has {@code used_quota} incremented.
 */
final class KeyTable {

  private static final Logger LOG = LoggerFactory.getLogger(KeyTable.class);
  /** How SQL writes a UTC time without offset; what SQLite's date functions and every reader of ours accept. */
  private static final DateTimeFormatter SQL_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);

  private final String table;
  private final String keyColumn;
  private final boolean periods;
  /** The Java type the driver wants for {@code last_reset_at}: LocalDateTime, OffsetDateTime or String. */
  private final Class<?> stampType;

  private KeyTable(String table, String keyColumn, boolean periods, Class<?> stampType) {
    this.table = table;
    this.keyColumn = keyColumn;
    this.periods = periods;
    this.stampType = stampType;
  }

  /** Reads the table's columns (no rows) once. */
  static Future<KeyTable> inspect(SqlDatabase database, DatabaseAuthConfig config) {
    String table = Dialect.identifier(config.table());
    String keyColumn = Dialect.identifier(config.keyColumn());
    return database.pool().query("SELECT * FROM " + table + " WHERE 1 = 0").execute().map(rows -> {
      boolean hasPeriod = false;
      Class<?> stampType = null;
      for (ColumnDescriptor column : rows.columnDescriptors()) {
        String name = column.name().toLowerCase(Locale.ROOT);
        if (name.equals("quota_reset_period")) {
          hasPeriod = true;
        } else if (name.equals("last_reset_at")) {
          stampType = stampType(database.dialect(), column.jdbcType());
        }
      }
      boolean periods = hasPeriod && stampType != null;
      if (hasPeriod && !periods) {
        LOG.warn("{}: quota_reset_period is kept but no last_reset_at column; used_quota is never reset by the gateway",
            config.table());
      }
      return new KeyTable(table, keyColumn, periods, stampType);
    });
  }

  private static Class<?> stampType(Dialect dialect, JDBCType type) {
    if (dialect == Dialect.SQLITE || type == null) {
      return String.class;
    }
    return switch (type) {
      case TIMESTAMP, DATE -> LocalDateTime.class;
      case TIMESTAMP_WITH_TIMEZONE -> OffsetDateTime.class;
      default -> String.class;
    };
  }

  /** Adds the tokens to the key's row; true when a row was charged. */
  Future<Boolean> charge(SqlConnection conn, Dialect dialect, String key, long tokens) {
    if (!periods) {
      return conn.preparedQuery("UPDATE " + table + " SET used_quota = COALESCE(used_quota, 0) + "
              + dialect.placeholder(1) + " WHERE " + keyColumn + " = " + dialect.placeholder(2))
          .execute(Tuple.of(tokens, key))
          .map(updated -> updated.rowCount() > 0);
    }
    String lock = dialect == Dialect.SQLITE ? "" : " FOR UPDATE";
    return conn.preparedQuery("SELECT used_quota, quota_reset_period, last_reset_at FROM " + table + " WHERE "
            + keyColumn + " = " + dialect.placeholder(1) + lock)
        .execute(Tuple.of(key))
        .compose(rows -> {
          RowIterator<Row> found = rows.iterator();
          if (!found.hasNext()) {
            return Future.succeededFuture(false);
          }
          Row row = found.next();
          Number used = (Number) row.getValue("used_quota");
          Instant now = Instant.now();
          QuotaPeriods.Charge charge = QuotaPeriods.charge(used == null ? 0 : used.longValue(), tokens,
              row.getValue("quota_reset_period") == null ? null : row.getValue("quota_reset_period").toString(),
              Timestamps.of(row.getValue("last_reset_at")), now);
          String set = "used_quota = " + dialect.placeholder(1)
              + (charge.resetStamped() ? ", last_reset_at = " + dialect.placeholder(2) : "");
          Tuple params = charge.resetStamped()
              ? Tuple.of(charge.usedQuota(), stamp(now), key)
              : Tuple.of(charge.usedQuota(), key);
          return conn.preparedQuery("UPDATE " + table + " SET " + set + " WHERE " + keyColumn + " = "
                  + dialect.placeholder(charge.resetStamped() ? 3 : 2))
              .execute(params)
              .map(updated -> updated.rowCount() > 0);
        });
  }

  private Object stamp(Instant now) {
    Instant second = now.truncatedTo(ChronoUnit.SECONDS);
    if (stampType == LocalDateTime.class) {
      return LocalDateTime.ofInstant(second, ZoneOffset.UTC);
    }
    if (stampType == OffsetDateTime.class) {
      return second.atOffset(ZoneOffset.UTC);
    }
    return SQL_TIME.format(second.atOffset(ZoneOffset.UTC));
  }
}
