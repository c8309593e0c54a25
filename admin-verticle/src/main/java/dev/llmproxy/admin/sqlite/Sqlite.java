package dev.llmproxy.admin.sqlite;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/** Transactions on the admin store's one-connection pool. */
public final class Sqlite {

  private Sqlite() {
  }

  /**
   * Runs {@code work} between {@code BEGIN IMMEDIATE} and {@code COMMIT} (or {@code ROLLBACK} when it fails) on one
   * connection. Plain SQL rather than {@code withTransaction}: that switches the JDBC connection's autocommit off
   * and the pooled connection keeps it so, leaving every later statement in a transaction nobody commits.
   * IMMEDIATE takes the write lock at once, so two transactions never both read and then both write.
   */
  public static <T> Future<T> inTransaction(Pool pool, Function<SqlConnection, Future<T>> work) {
    return pool.withConnection(conn -> conn.query("BEGIN IMMEDIATE").execute()
        .compose(begun -> {
          Future<T> done;
          try {
            done = work.apply(conn);
          } catch (RuntimeException e) {
            done = Future.failedFuture(e);
          }
          return done;
        })
        .compose(result -> conn.query("COMMIT").execute().map(result))
        // whatever failed (BEGIN, the work, COMMIT), the pooled connection must not stay inside a transaction
        .recover(failure -> conn.query("ROLLBACK").execute().transform(rolledBack -> Future.<T>failedFuture(failure))));
  }

  /**
   * Rebuilds {@code table} with {@code create} (a {@code CREATE TABLE} of the same name) and copies its rows, the
   * way SQLite changes column types: the original's columns declared {@code DATETIME} or {@code BOOLEAN} make the JDBC
   * driver parse values itself, and it cannot read RFC 3339. Columns the new table lacks are kept, untyped. The old
   * table's indexes go with it. Meant to run inside {@link #inTransaction}.
   */
  public static Future<Void> rebuild(SqlConnection conn, String table, String create, Set<String> newColumns,
      Set<String> oldColumns) {
    String old = table + "_before_migration";
    List<String> common = oldColumns.stream().filter(newColumns::contains).sorted().toList();
    List<String> extra = oldColumns.stream().filter(c -> !newColumns.contains(c)).sorted().toList();
    String copied = String.join(", ", java.util.stream.Stream.concat(common.stream(), extra.stream())
        .map(c -> '"' + c + '"').toList());
    Future<?> chain = conn.query("ALTER TABLE " + table + " RENAME TO " + old).execute()
        .compose(v -> conn.query(create).execute());
    for (String column : extra) {
      chain = chain.compose(v -> conn.query("ALTER TABLE " + table + " ADD COLUMN \"" + column + "\"").execute());
    }
    return chain
        .compose(v -> conn.query("INSERT INTO " + table + " (" + copied + ") SELECT " + copied + " FROM " + old)
            .execute())
        .compose(v -> conn.query("DROP TABLE " + old).execute())
        .mapEmpty();
  }

  /** A tuple of these values in order; nulls allowed. */
  public static Tuple tuple(Iterable<?> values) {
    Tuple tuple = Tuple.tuple();
    values.forEach(tuple::addValue);
    return tuple;
  }

  /** The names of a table's columns; empty when there is no such table. */
  public static Future<Set<String>> columns(SqlConnection conn, String table) {
    return conn.query("PRAGMA table_info(" + table + ")").execute().map(rows -> {
      Set<String> names = new java.util.HashSet<>();
      rows.forEach(row -> names.add(row.getString("name")));
      return names;
    });
  }

  /**
   * Brings an existing table up to {@code columns}: the original's (known by having no {@code key_hash}) is rebuilt
   * with our column types (see {@link #rebuild}), an older one of ours gets the columns it lacks. Every added column
   * has a default where it is NOT NULL, which ALTER TABLE requires.
   *
   * @param identity the table's own key column, besides {@code columns} ({@code id}, {@code key})
   */
  public static Future<Void> upgrade(SqlConnection conn, String table, String create, java.util.Map<String, String> columns,
      String identity, Set<String> existing) {
    if (!existing.contains("key_hash")) {
      Set<String> ours = new java.util.HashSet<>(columns.keySet());
      ours.add(identity);
      return rebuild(conn, table, create, ours, existing);
    }
    Future<?> chain = Future.succeededFuture();
    for (java.util.Map.Entry<String, String> column : columns.entrySet()) {
      if (!existing.contains(column.getKey())) {
        String ddl = "ALTER TABLE " + table + " ADD COLUMN " + column.getKey() + ' ' + column.getValue();
        chain = chain.compose(v -> conn.query(ddl).execute());
      }
    }
    return chain.mapEmpty();
  }
}
