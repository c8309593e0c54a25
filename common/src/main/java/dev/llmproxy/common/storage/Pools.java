package dev.llmproxy.common.storage;

import dev.llmproxy.common.config.CacheConfig;
import dev.llmproxy.common.config.DatabaseConfig;
import dev.llmproxy.common.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.jdbcclient.JDBCConnectOptions;
import io.vertx.jdbcclient.JDBCPool;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The named pools of {@code storage.databases} and {@code storage.caches}, created on first use. One registry per
 * verticle instance (Vert.x pools belong to the context that built them); {@link #close()} on stop. Connections
 * are opened lazily, so a server that is down makes queries fail, not the start.
 */
public final class Pools {

  /** Go's DSN: {@code user:pass@tcp(host:port)/db?params}, as the original's MySQL configs have it. */
  private static final Pattern GO_MYSQL_DSN =
      Pattern.compile("^(?:([^:@/]*)(?::([^@]*))?@)?(?:tcp\\(([^)]*)\\))?/([^?]*)(?:\\?.*)?$");

  private final Vertx vertx;
  private final StorageConfig storage;
  private final Map<String, SqlDatabase> databases = new LinkedHashMap<>();
  private final Map<String, Redis> caches = new LinkedHashMap<>();

  public Pools(Vertx vertx, StorageConfig storage) {
    this.vertx = vertx;
    this.storage = storage;
  }

  /** @throws IllegalArgumentException when no enabled database has this name or its driver is unknown */
  public SqlDatabase database(String name) {
    return databases.computeIfAbsent(name, n -> {
      DatabaseConfig db = storage.database(n).filter(DatabaseConfig::enabled)
          .orElseThrow(() -> new IllegalArgumentException("storage.databases has no enabled database '" + n + "'"));
      return switch (db.driver()) {
        case "postgres" -> new SqlDatabase(n, postgres(db), Dialect.POSTGRES);
        case "mysql" -> new SqlDatabase(n, mysql(db), Dialect.MYSQL);
        case "sqlite", "sqlite3" -> new SqlDatabase(n, sqlite(db), Dialect.SQLITE);
        default -> throw new IllegalArgumentException("storage.databases " + n + ": unknown driver '" + db.driver() + "'");
      };
    });
  }

  /** @throws IllegalArgumentException when no enabled redis cache has this name */
  public Redis redis(String name) {
    return caches.computeIfAbsent(name, n -> {
      CacheConfig cache = storage.cache(n).filter(CacheConfig::enabled)
          .filter(c -> c.driver().equals("redis"))
          .orElseThrow(() -> new IllegalArgumentException("storage.caches has no enabled redis cache '" + n + "'"));
      return Redis.createClient(vertx, redisOptions(cache));
    });
  }

  /** Where a redis cache connects; also what its errors may name (never the password). */
  static RedisOptions redisOptions(CacheConfig cache) {
    String addr = cache.addr().isEmpty() ? "127.0.0.1:6379" : cache.addr();
    String uri = addr.contains("://") ? addr : "redis://" + addr + "/" + cache.db();
    RedisOptions options = new RedisOptions()
        .setConnectionString(uri)
        .setMaxPoolSize(Math.max(1, cache.poolSize()))
        .setMaxPoolWaiting(Math.max(16, cache.poolSize() * 4))
        .setNetClientOptions(new NetClientOptions()
            .setConnectTimeout((int) Math.max(1, cache.dialTimeout().toMillis()))
            .setTcpNoDelay(true));
    if (!cache.password().isEmpty()) {
      options.setPassword(cache.password());
    }
    return options;
  }

  private PoolOptions poolOptions(DatabaseConfig db) {
    return new PoolOptions()
        .setName("llmproxy-" + db.name())
        .setMaxSize(Math.max(1, db.maxOpenConns()))
        .setIdleTimeout((int) Math.max(0, db.connMaxIdleTime().toSeconds()))
        .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS)
        .setMaxLifetime((int) Math.max(0, db.connMaxLifetime().toSeconds()))
        .setMaxLifetimeUnit(java.util.concurrent.TimeUnit.SECONDS);
  }

  private Pool postgres(DatabaseConfig db) {
    PgConnectOptions connect = db.dsn().isEmpty() ? new PgConnectOptions() : PgConnectOptions.fromUri(db.dsn());
    if (db.dsn().isEmpty()) {
      connect.setHost(db.host().isEmpty() ? "127.0.0.1" : db.host()).setPort(db.effectivePort())
          .setUser(db.user()).setPassword(db.password()).setDatabase(db.database());
    }
    return PgBuilder.pool().with(poolOptions(db)).connectingTo(connect).using(vertx).build();
  }

  private Pool mysql(DatabaseConfig db) {
    MySQLConnectOptions connect = db.dsn().isEmpty() ? new MySQLConnectOptions() : mysqlDsn(db.dsn());
    if (db.dsn().isEmpty()) {
      connect.setHost(db.host().isEmpty() ? "127.0.0.1" : db.host()).setPort(db.effectivePort())
          .setUser(db.user()).setPassword(db.password()).setDatabase(db.database());
    }
    return MySQLBuilder.pool().with(poolOptions(db)).connectingTo(connect).using(vertx).build();
  }

  static MySQLConnectOptions mysqlDsn(String dsn) {
    if (dsn.startsWith("mysql://") || dsn.startsWith("mariadb://")) {
      return MySQLConnectOptions.fromUri(dsn);
    }
    Matcher m = GO_MYSQL_DSN.matcher(dsn);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a MySQL DSN (user:pass@tcp(host:port)/db or mysql://...)");
    }
    MySQLConnectOptions options = new MySQLConnectOptions();
    if (m.group(1) != null) {
      options.setUser(m.group(1));
    }
    if (m.group(2) != null) {
      options.setPassword(m.group(2));
    }
    if (m.group(3) != null && !m.group(3).isEmpty()) {
      String hostPort = m.group(3);
      int colon = hostPort.lastIndexOf(':');
      options.setHost(colon < 0 ? hostPort : hostPort.substring(0, colon));
      options.setPort(colon < 0 ? 3306 : Integer.parseInt(hostPort.substring(colon + 1)));
    }
    return options.setDatabase(m.group(4));
  }

  private Pool sqlite(DatabaseConfig db) {
    String path = !db.path().isEmpty() ? db.path() : !db.dsn().isEmpty() ? db.dsn() : db.database();
    String url = path.startsWith("jdbc:") ? path : "jdbc:sqlite:" + path;
    // JDBC blocks, so the pool runs it on worker threads; SQLite serialises writers, so a few connections suffice.
    return JDBCPool.pool(vertx, new JDBCConnectOptions().setJdbcUrl(url),
        poolOptions(db).setMaxSize(Math.max(1, Math.min(db.maxOpenConns(), 4))));
  }

  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    databases.values().forEach(d -> closing.add(d.pool().close()));
    caches.values().forEach(r -> closing.add(r.close()));
    databases.clear();
    caches.clear();
    return Future.join(closing).mapEmpty();
  }

}
