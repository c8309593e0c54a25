package dev.llmproxy.admin.sqlite;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
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
        .compose(result -> conn.query("COMMIT").execute().map(result),
            failure -> conn.query("ROLLBACK").execute()
                .transform(rolledBack -> Future.<T>failedFuture(failure))));
  }

  /** A tuple of these values in order; nulls allowed. */
  public static Tuple tuple(Iterable<?> values) {
    Tuple tuple = Tuple.tuple();
    values.forEach(tuple::addValue);
    return tuple;
  }
}
