package dev.llmproxy.auth;

import dev.llmproxy.common.bus.KeyHash;

import static dev.llmproxy.auth.AuthTesting.ask;
import static dev.llmproxy.auth.AuthTesting.deploy;
import static dev.llmproxy.auth.StaticPipelineTest.assertDenied;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.bus.KeyLookup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each provider against the real thing: Redis, PostgreSQL, MariaDB, SQLite, an HTTP webhook, and a stand-in
 * for the admin verticle's key store. Found, not found, refused, and failed for each.
 */
@ExtendWith(VertxExtension.class)
class ProvidersTest {

  private final String prefix = "llmproxy-test:" + UUID.randomUUID() + ":";

  private static JsonObject authWith(JsonObject storage, JsonObject... pipeline) {
    JsonArray list = new JsonArray();
    for (JsonObject p : pipeline) {
      list.add(p);
    }
    return new JsonObject().put("storage", storage)
        .put("auth", new JsonObject().put("enabled", true).put("mode", "first_match").put("pipeline", list));
  }

  private static JsonObject redisStorage(String addr) {
    return new JsonObject().put("caches", new JsonArray().add(new JsonObject()
        .put("name", "cache").put("driver", "redis").put("addr", addr).put("dial_timeout", "1s")));
  }

  private JsonObject redisProvider() {
    return new JsonObject().put("name", "redis_auth").put("type", "redis")
        .put("redis", new JsonObject().put("storage", "cache").put("key_pattern", prefix + "{api_key}"));
  }

  @Test
  void redisHashAndJsonRecords(Vertx vertx, VertxTestContext ctx) {
    RedisAPI redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:6379"));
    long past = Instant.now().getEpochSecond() - 60;
    Future<?> seeded = Future.all(List.of(
        redis.hset(List.of(prefix + "sk-hash-ok-00001", "user_id", "u-hash", "status", "0", "name", "hashed",
            "total_quota", "100", "used_quota", "5", "expires_at", "")),
        redis.hset(List.of(prefix + "sk-hash-off-0001", "user_id", "u", "status", "disabled")),
        redis.hset(List.of(prefix + "sk-hash-odd-0001", "user_id", "u", "status", "suspended")),
        redis.hset(List.of(prefix + "sk-hash-unix-001", "user_id", "u", "expires_at", String.valueOf(past))),
        redis.hset(List.of(prefix + "sk-hash-bal-0001", "user_id", "u", "balance", "0")),
        redis.set(List.of(prefix + "sk-json-ok-00001",
            "{\"user_id\":\"u-json\",\"status\":\"active\",\"metadata\":{\"tier\":\"gold\"},\"rpm\":60}")),
        redis.set(List.of(prefix + "sk-json-bad-0001", "not json"))));
    seeded.compose(x -> deploy(vertx, AuthTesting.config(authWith(redisStorage("127.0.0.1:6379"), redisProvider()))))
        .compose(id -> Future.all(List.of(
            ask(vertx, "sk-hash-ok-00001"), ask(vertx, "sk-hash-off-0001"), ask(vertx, "sk-hash-odd-0001"),
            ask(vertx, "sk-hash-unix-001"), ask(vertx, "sk-hash-bal-0001"), ask(vertx, "sk-json-ok-00001"),
            ask(vertx, "sk-json-bad-0001"), ask(vertx, "sk-missing-00001"))))
        .eventually(() -> redis.keys(prefix + "*").compose(keys -> {
          List<String> names = new java.util.ArrayList<>();
          keys.forEach(k -> names.add(k.toString()));
          return names.isEmpty() ? Future.succeededFuture() : redis.del(names);
        }))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          assertTrue(d.get(0).allow());
          assertEquals("u-hash", d.get(0).userId());
          assertEquals("hashed", d.get(0).keyName());
          assertDenied(d.get(1), 403, "key_disabled", null);
          assertDenied(d.get(2), 403, "key_disabled", null);
          assertDenied(d.get(3), 403, "key_expired", null);
          assertDenied(d.get(4), 429, "insufficient_balance", null);
          assertTrue(d.get(5).allow());
          assertEquals(new JsonObject().put("tier", "gold"), d.get(5).metadata());
          assertEquals(60L, d.get(5).rpm());
          assertDenied(d.get(6), 503, "auth_unavailable", null);
          assertDenied(d.get(7), 401, "invalid_api_key", null);
          ctx.completeNow();
        })));
  }

  @Test
  void redisDownIsUnavailableNotInvalid(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, AuthTesting.config(authWith(redisStorage("127.0.0.1:1"), redisProvider())))
        .compose(id -> ask(vertx, "sk-anything-00001"))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertDenied(d, 503, "auth_unavailable", null);
          assertEquals(0, d.cacheTtlMs());
          ctx.completeNow();
        })));
  }

  /** A server that accepts and never answers: the provider gives up after dial + write + read timeouts. */
  @Test
  void aStalledRedisGetsTheDialWriteAndReadTimeoutsTogether(Vertx vertx, VertxTestContext ctx) {
    long[] startedAt = new long[1];
    vertx.createNetServer().connectHandler(socket -> { }).listen(0, "127.0.0.1")
        .compose(server -> deploy(vertx, AuthTesting.config(authWith(new JsonObject().put("caches", new JsonArray()
            .add(new JsonObject().put("name", "cache").put("driver", "redis")
                .put("addr", "127.0.0.1:" + server.actualPort()).put("dial_timeout", "200ms")
                .put("read_timeout", "200ms").put("write_timeout", "2s"))), redisProvider()))))
        .compose(id -> {
          startedAt[0] = System.nanoTime();
          return ask(vertx, "sk-anything-00001");
        })
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          long waitedMs = (System.nanoTime() - startedAt[0]) / 1_000_000;
          assertDenied(d, 503, "auth_unavailable", null);
          assertTrue(waitedMs >= 2_400, "gave up after " + waitedMs + " ms, before dial + write + read (2.4 s)");
          ctx.completeNow();
        })));
  }

  private static JsonObject sqlStorage(JsonObject db) {
    return new JsonObject().put("databases", new JsonArray().add(db.put("name", "db")));
  }

  private static JsonObject dbProvider(String table) {
    return new JsonObject().put("name", "db_auth").put("type", "database").put("database", new JsonObject()
        .put("storage", "db").put("table", table).put("key_column", "api_key")
        .put("fields", new JsonArray().add("user_id").add("status").add("expires_at").add("total_quota")
            .add("used_quota")));
  }

  /** Creates a table, fills it, runs the four cases, drops it. */
  private void databaseCases(Vertx vertx, VertxTestContext ctx, JsonObject db, SqlClient admin, String table,
      String expiresType, String insert) {
    String create = "CREATE TABLE " + table + " (api_key VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64), "
        + "status VARCHAR(16), expires_at " + expiresType + ", total_quota BIGINT, used_quota BIGINT)";
    admin.query(create).execute()
        .compose(x -> admin.query(insert.replace("T_", table)).execute())
        .compose(x -> deploy(vertx, AuthTesting.config(authWith(sqlStorage(db), dbProvider(table)))))
        .compose(id -> Future.all(List.of(ask(vertx, "sk-db-ok-000001"), ask(vertx, "sk-db-off-00001"),
            ask(vertx, "sk-db-old-00001"), ask(vertx, "sk-db-none-0001"), ask(vertx, "sk-db-full-0001"))))
        .eventually(() -> admin.query("DROP TABLE " + table).execute())
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          assertTrue(d.get(0).allow(), () -> String.valueOf(d.get(0)));
          assertEquals("u-db", d.get(0).userId());
          assertDenied(d.get(1), 403, "key_disabled", null);
          assertDenied(d.get(2), 403, "key_expired", null);
          assertDenied(d.get(3), 401, "invalid_api_key", null);
          assertDenied(d.get(4), 429, "quota_exceeded", null);
          ctx.completeNow();
        })));
  }

  private static final String ROWS = "INSERT INTO T_ (api_key, user_id, status, expires_at, total_quota, used_quota) "
      + "VALUES ('sk-db-ok-000001', 'u-db', 'enabled', '2999-01-01 00:00:00', 0, 0), "
      + "('sk-db-off-00001', 'u', '1', NULL, 0, 0), "
      + "('sk-db-old-00001', 'u', 'active', '2001-01-01 00:00:00', 0, 0), "
      + "('sk-db-full-0001', 'u', '0', NULL, 10, 10)";

  private String table() {
    return "auth_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  @Test
  void postgres(Vertx vertx, VertxTestContext ctx) {
    JsonObject db = new JsonObject().put("driver", "postgres").put("host", "127.0.0.1").put("port", 5432)
        .put("user", "postgres").put("database", "test");
    Pool admin = io.vertx.pgclient.PgBuilder.pool().connectingTo(new io.vertx.pgclient.PgConnectOptions()
        .setHost("127.0.0.1").setUser("postgres").setDatabase("test")).using(vertx).build();
    databaseCases(vertx, ctx, db, admin, table(), "TIMESTAMP", ROWS);
  }

  @Test
  void mariadb(Vertx vertx, VertxTestContext ctx) {
    JsonObject db = new JsonObject().put("driver", "mysql").put("dsn", "root:@tcp(127.0.0.1:3306)/test");
    Pool admin = io.vertx.mysqlclient.MySQLBuilder.pool().connectingTo(new io.vertx.mysqlclient.MySQLConnectOptions()
        .setHost("127.0.0.1").setUser("root").setPassword("").setDatabase("test")).using(vertx).build();
    databaseCases(vertx, ctx, db, admin, table(), "DATETIME", ROWS);
  }

  @Test
  void sqlite(Vertx vertx, VertxTestContext ctx, @TempDir Path dir) {
    String file = dir.resolve("keys.db").toString();
    JsonObject db = new JsonObject().put("driver", "sqlite").put("path", file);
    Pool admin = io.vertx.jdbcclient.JDBCPool.pool(vertx,
        new io.vertx.jdbcclient.JDBCConnectOptions().setJdbcUrl("jdbc:sqlite:" + file), new io.vertx.sqlclient.PoolOptions());
    databaseCases(vertx, ctx, db, admin, table(), "TEXT", ROWS);
  }

  @Test
  void databaseDownIsUnavailable(Vertx vertx, VertxTestContext ctx) {
    JsonObject db = new JsonObject().put("driver", "postgres").put("host", "127.0.0.1").put("port", 1)
        .put("user", "postgres").put("database", "test");
    deploy(vertx, AuthTesting.config(authWith(sqlStorage(db), dbProvider("api_keys"))))
        .compose(id -> ask(vertx, "sk-anything-00001"))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertDenied(d, 503, "auth_unavailable", null);
          ctx.completeNow();
        })));
  }

  @Test
  void webhook(Vertx vertx, VertxTestContext ctx) {
    List<JsonObject> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      JsonObject sent = body.toJsonObject().put("x-service", req.getHeader("X-Service"));
      received.add(sent);
      switch (sent.getString("api_key")) {
        case "sk-hook-ok-00001" -> req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("user_id", "u-hook").put("status", "active").encode());
        case "sk-hook-off-0001" -> req.response().end(new JsonObject().put("status", "disabled").encode());
        case "sk-hook-403-0001" -> req.response().setStatusCode(403).end("{\"message\":\"banned\"}");
        case "sk-hook-401-0001" -> req.response().setStatusCode(401).end("{\"user_id\":\"never\"}");
        case "sk-hook-slow-001" -> vertx.setTimer(20_000, t -> req.response().end("{}"));
        default -> req.response().setStatusCode(500).end();
      }
    }));
    server.listen(0, "127.0.0.1").compose(s -> {
      JsonObject hook = new JsonObject().put("name", "hook").put("type", "webhook").put("webhook", new JsonObject()
          .put("url", "http://127.0.0.1:" + s.actualPort() + "/verify").put("method", "POST").put("timeout", "2s")
          .put("headers", new JsonObject().put("X-Service", "llmproxy")));
      return deploy(vertx, AuthTesting.config(authWith(new JsonObject(), hook)));
    }).compose(id -> Future.all(List.of(ask(vertx, "sk-hook-ok-00001", "10.9.8.7"), ask(vertx, "sk-hook-off-0001"),
        ask(vertx, "sk-hook-403-0001"), ask(vertx, "sk-hook-401-0001"), ask(vertx, "sk-hook-500-0001"),
        ask(vertx, "sk-hook-slow-001"))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          assertTrue(d.get(0).allow());
          assertEquals("u-hook", d.get(0).userId());
          assertDenied(d.get(1), 403, "key_disabled", null);
          assertDenied(d.get(2), 403, "access_denied", "banned");
          assertDenied(d.get(3), 401, "invalid_api_key", null);
          assertDenied(d.get(4), 503, "auth_unavailable", null);
          assertDenied(d.get(5), 503, "auth_unavailable", null);
          JsonObject first = received.stream().filter(r -> r.getString("api_key").equals("sk-hook-ok-00001"))
              .findFirst().orElseThrow();
          assertEquals("10.9.8.7", first.getString("client_ip"));
          assertEquals("POST", first.getString("method"));
          assertEquals("/v1/chat/completions", first.getString("path"));
          assertEquals("gpt-test", first.getString("model"));
          assertEquals("llmproxy", first.getString("x-service"));
          ctx.completeNow();
        })));
  }

  @Test
  void builtinAsksTheKeyStoreByHash(Vertx vertx, VertxTestContext ctx) {
    // stand-in for the admin verticle's store
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_LOOKUP, msg -> {
      String hash = msg.body().getString(KeyLookup.KEY_HASH);
      if (hash.equals(KeyHash.sha256Hex("sk-builtin-ok-01"))) {
        msg.reply(new JsonObject().put("name", "b").put("user_id", "u-b").put("status", 0));
      } else if (hash.equals(KeyHash.sha256Hex("sk-builtin-off-1"))) {
        msg.reply(new JsonObject().put("status", 1));
      } else if (hash.equals(KeyHash.sha256Hex("sk-builtin-err-1"))) {
        msg.fail(500, "store broken");
      } else {
        msg.reply(null);
      }
    }).completion()
        .compose(x -> deploy(vertx, AuthTesting.config(authWith(new JsonObject(),
            new JsonObject().put("name", "builtin_auth").put("type", "builtin"))
            // builtin requires admin (seed 000); only its config is needed, the consumer above stands in for its store
            .put("admin", new JsonObject().put("enabled", true).put("token", "t")))))
        .compose(id -> Future.all(ask(vertx, "sk-builtin-ok-01"), ask(vertx, "sk-builtin-off-1"),
            ask(vertx, "sk-builtin-err-1"), ask(vertx, "sk-builtin-none")))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          AuthDecision ok = all.resultAt(0);
          assertTrue(ok.allow());
          assertEquals("u-b", ok.userId());
          assertDenied(all.resultAt(1), 403, "key_disabled", null);
          assertDenied(all.resultAt(2), 503, "auth_unavailable", null);
          assertDenied(all.resultAt(3), 401, "invalid_api_key", null);
          ctx.completeNow();
        })));
  }
}
