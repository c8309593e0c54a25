package dev.llmproxy.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Pool;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The auth scripts of the top-level {@code scripts/} folder, each loaded by path from the pipeline entry that uses
 * it (as seed 000 lays them out) and run by the real auth verticle against the real store: {@code auth.lua} (a
 * lua provider), {@code auth_redis.lua} (Redis), {@code auth_db.lua} and {@code auth_db_post.lua} (SQLite),
 * {@code auth_webhook.lua} (an HTTP verifier).
 */
@ExtendWith(VertxExtension.class)
class ScriptsFolderAuthTest {

  private static JsonObject script(String file) {
    return new JsonObject().put("enabled", true).put("path", "../scripts/" + file);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static AuthDecision ask(Vertx vertx, String key, String model) throws Exception {
    AuthCheck check = new AuthCheck(key, "127.0.0.1", "POST", "/v1/chat/completions", model, Map.of());
    return await(vertx.eventBus().<JsonObject>request(Addresses.AUTH_CHECK, check.toJson())
        .map(m -> AuthDecision.fromJson(m.body())));
  }

  private static void deploy(Vertx vertx, JsonObject storage, JsonObject... pipeline) throws Exception {
    JsonArray list = new JsonArray();
    for (JsonObject provider : pipeline) {
      list.add(provider);
    }
    await(AuthTesting.deploy(vertx, AuthTesting.config(new JsonObject().put("storage", storage)
        .put("auth", new JsonObject().put("enabled", true).put("mode", "first_match").put("pipeline", list)))));
  }

  @Test
  void authLuaAdmitsItsOwnKeysAlone(Vertx vertx) throws Exception {
    deploy(vertx, new JsonObject(), new JsonObject().put("name", "lua_auth").put("type", "lua")
        .put("lua", script("auth.lua")));
    AuthDecision admitted = ask(vertx, "sk-lua-team-key-4242", "gpt-test");
    assertTrue(admitted.allow(), admitted.toString());
    assertEquals("lua_4242", admitted.userId());
    assertEquals("auth.lua", admitted.metadata().getString("via"));
    AuthDecision refused = ask(vertx, "sk-someone-else-0001", "gpt-test");
    assertFalse(refused.allow());
    assertEquals("not a key of the lua provider", refused.message());
  }

  @Test
  void authRedisLuaRefusesSuspendedKeysAndTagsTheTier(Vertx vertx) throws Exception {
    String prefix = "llmproxy-scripts-test:" + UUID.randomUUID() + ":";
    RedisAPI redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:6379"));
    try {
      await(redis.hset(List.of(prefix + "sk-redis-gold-0001", "user_id", "u-gold", "status", "enabled", "tier", "gold")));
      await(redis.hset(List.of(prefix + "sk-redis-susp-0001", "user_id", "u-susp", "status", "enabled",
          "tier", "suspended")));
      deploy(vertx, new JsonObject().put("caches", new JsonArray().add(new JsonObject().put("name", "primary")
              .put("driver", "redis").put("addr", "127.0.0.1:6379"))),
          new JsonObject().put("name", "redis_auth").put("type", "redis").put("redis", new JsonObject()
              .put("storage", "primary").put("key_pattern", prefix + "{api_key}")).put("script", script("auth_redis.lua")));
      AuthDecision gold = ask(vertx, "sk-redis-gold-0001", "gpt-test");
      assertTrue(gold.allow(), gold.toString());
      assertEquals("gold", gold.metadata().getString("tier"));
      AuthDecision suspended = ask(vertx, "sk-redis-susp-0001", "gpt-test");
      assertFalse(suspended.allow());
      assertEquals("key suspended by billing", suspended.message());
    } finally {
      await(redis.del(List.of(prefix + "sk-redis-gold-0001", prefix + "sk-redis-susp-0001")));
    }
  }

  @Test
  void authDbLuaAndSeed001sPostScriptJudgeTheRows(Vertx vertx, @TempDir Path dir) throws Exception {
    String file = dir.resolve("keys.db").toString();
    Pool admin = io.vertx.jdbcclient.JDBCPool.pool(vertx,
        new io.vertx.jdbcclient.JDBCConnectOptions().setJdbcUrl("jdbc:sqlite:" + file), new io.vertx.sqlclient.PoolOptions());
    for (String table : List.of("api_keys", "api_keys_post")) {
      await(admin.query("CREATE TABLE " + table + " (api_key TEXT PRIMARY KEY, user_id TEXT, quota INTEGER,"
          + " status TEXT)").execute());
    }
    await(admin.query("INSERT INTO api_keys VALUES ('sk-db-ok-00000001', 'u-db', 5, 'enabled'),"
        + " ('sk-db-spent-00001', 'u-spent', 0, 'enabled')").execute());
    await(admin.query("INSERT INTO api_keys_post VALUES ('sk-post-ok-000001', 'u-post', 10, 'enabled'),"
        + " ('sk-post-off-00001', 'u-off', 10, 'paused')").execute());
    await(admin.close());
    JsonObject fields = new JsonObject().put("key_column", "api_key").put("storage", "primary")
        .put("fields", new JsonArray().add("user_id").add("quota").add("status"));
    deploy(vertx, new JsonObject().put("databases", new JsonArray().add(new JsonObject().put("name", "primary")
            .put("driver", "sqlite").put("path", file))),
        new JsonObject().put("name", "db_auth").put("type", "database")
            .put("database", fields.copy().put("table", "api_keys")).put("script", script("auth_db.lua")),
        new JsonObject().put("name", "db_auth_post").put("type", "database")
            .put("database", fields.copy().put("table", "api_keys_post")).put("script", script("auth_db_post.lua")));

    AuthDecision ok = ask(vertx, "sk-db-ok-00000001", "gpt-test");
    assertTrue(ok.allow(), ok.toString());
    assertEquals("u-db", ok.userId());
    AuthDecision spent = ask(vertx, "sk-db-spent-00001", "gpt-test");
    assertFalse(spent.allow());
    assertEquals("Quota exceeded", spent.message(), "auth_db.lua's refusal");

    AuthDecision post = ask(vertx, "sk-post-ok-000001", "gpt-test");
    assertTrue(post.allow(), post.toString());
    assertEquals("u-post", post.userId());
    AuthDecision paused = ask(vertx, "sk-post-off-00001", "gpt-test");
    assertFalse(paused.allow());
    assertEquals("Key disabled", paused.message(), "auth_db_post.lua's process(ctx, db_result) refusal");
  }

  @Test
  void authWebhookLuaKeepsTheFreePlanOffTheBigModel(Vertx vertx) throws Exception {
    HttpServer verifier = await(vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body ->
        request.response().putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("user_id", "u-free").put("status", "active").put("plan", "free").encode())))
        .listen(0, "127.0.0.1"));
    deploy(vertx, new JsonObject(), new JsonObject().put("name", "webhook_auth").put("type", "webhook")
        .put("webhook", new JsonObject().put("url", "http://127.0.0.1:" + verifier.actualPort() + "/verify"))
        .put("script", script("auth_webhook.lua")));
    AuthDecision small = ask(vertx, "sk-hook-free-00001", "small-model");
    assertTrue(small.allow(), small.toString());
    assertEquals("free", small.metadata().getString("plan"));
    AuthDecision big = ask(vertx, "sk-hook-free-00001", "big-model");
    assertFalse(big.allow());
    assertEquals("the free plan cannot use big-model", big.message());
  }
}
