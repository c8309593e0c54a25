package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.await;
import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.unique;
import static dev.llmproxy.usage.UsageTesting.usage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Quota accounting against the stores users have: a Redis hash and a Redis JSON record, a key table in
 * PostgreSQL / MariaDB / SQLite, and the builtin store's message (answered here by a stub consumer, because the
 * admin verticle's side is built elsewhere). Charging again after a restart that re-reads the journal adds nothing.
 */
class QuotaChargeTest {

  @ParameterizedTest
  @ValueSource(strings = {"sqlite", "postgres", "mysql"})
  void eachRecordChargesItsKeysStoreOnce(String driver, @TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    String prefix = unique("llmproxy-test:key") + ":";
    String table = unique("keys_" + driver).replace('-', '_');
    String suffix = unique("").substring(1);
    String hashKey = "sk-redis-hash-" + suffix;
    String jsonKey = "sk-redis-json-" + suffix;
    String dbKey = "sk-database-key-" + suffix;
    String builtinKey = "sk-builtin-key-" + suffix;
    JsonObject raw = UsageTesting.keyStores(dir, driver, prefix, table);
    raw.getJsonObject("auth").getJsonArray("pipeline")
        .add(new JsonObject().put("name", "local").put("type", "builtin"))
        .add(new JsonObject().put("name", "fixed").put("type", "static"));
    // builtin requires admin (seed 000): its config only, a stub consumer below answers for the admin store
    raw.put("admin", new JsonObject().put("enabled", true).put("token", "t"));
    GatewayConfig config = config(raw);
    Pools pools = new Pools(vertx, config.storage());
    SqlDatabase db = pools.database("keydb");
    RedisAPI redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:6379"));

    List<String> changed = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changed.add(m.body().getString("key_hash")));
    List<JsonObject> builtinCharges = new CopyOnWriteArrayList<>();
    Set<String> builtinCharged = ConcurrentHashMap.newKeySet();
    // stand-in for the admin verticle: charges a batch once per request id and tells the auth caches itself
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHARGE, m -> {
      JsonObject charged = new JsonObject();
      for (Object item : m.body().getJsonArray("charges")) {
        JsonObject charge = (JsonObject) item;
        builtinCharges.add(charge);
        if (builtinCharged.add(charge.getString("request_id"))) {
          charged.put(charge.getString("key_hash"), charge.getLong("tokens"));
          vertx.eventBus().publish(Addresses.KEYS_CHANGED, new JsonObject().put("key_hash", charge.getString("key_hash")));
        }
      }
      m.reply(new JsonObject().put("charged", charged));
    });
    try {
      await(redis.hset(List.of(prefix + hashKey, "user_id", "u1", "status", "0", "used_quota", "100")));
      await(redis.set(List.of(prefix + jsonKey, "{\"user_id\":\"u2\",\"status\":0}")));
      await(db.pool().query("CREATE TABLE " + table + " (api_key VARCHAR(128) PRIMARY KEY, user_id VARCHAR(64),"
          + " used_quota BIGINT NOT NULL DEFAULT 0)").execute());
      await(db.pool().preparedQuery("INSERT INTO " + table + " (api_key, user_id) VALUES ("
          + db.dialect().placeholder(1) + ", 'u3')").execute(Tuple.of(dbKey)));

      // Sealed raw keys: the restart below recovers them from the journal, so Redis and database records are
      // charged again (and must not change twice).
      String first = await(deploy(vertx, config, new SimpleMeterRegistry(), UsageTesting.SEALING));
      String id = unique("req");
      send(vertx, record(id + "-1", hashKey, "keys_redis", "m", 10, 5));
      send(vertx, record(id + "-2", jsonKey, "keys_redis", "m", 3, 4));
      send(vertx, record(id + "-3", dbKey, "keys_db", "m", 12, 8));
      send(vertx, record(id + "-4", builtinKey, "local", "m", 4, 5));
      send(vertx, record(id + "-5", "sk-static-key-0001", "fixed", "m", 4, 5));
      send(vertx, record(id + "-6", hashKey, "keys_redis", "m", 0, 0));
      send(vertx, record(id + "-7", "sk-nobody-key-001", null, "m", 4, 5));
      Path cursor = dir.resolve("journal");
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> cursorValue(cursor) == 8), "cursor " + cursorValue(cursor));

      assertEquals("115", await(redis.hget(prefix + hashKey, "used_quota")).toString());
      JsonObject json = new JsonObject(await(redis.get(prefix + jsonKey)).toString());
      assertEquals(7, json.getLong("used_quota"));
      assertEquals("u2", json.getString("user_id"));
      assertEquals(20, usedQuota(db, table, dbKey));
      assertEquals(1, builtinCharges.size());
      assertEquals(new JsonObject().put("request_id", id + "-4").put("key_hash", KeyHash.sha256Hex(builtinKey))
          .put("tokens", 9), builtinCharges.get(0));
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> changed.size() == 4), "changed: " + changed);
      assertEquals(List.of(KeyHash.sha256Hex(hashKey), KeyHash.sha256Hex(jsonKey), KeyHash.sha256Hex(dbKey),
          KeyHash.sha256Hex(builtinKey)), changed);

      // A crash before the cursor was saved: the restart charges everything again, and nothing changes twice.
      await(vertx.undeploy(first));
      try (Journal journal = Journal.open(cursor, Long.MAX_VALUE)) {
        journal.writeCursor("quota", 1);
      }
      await(deploy(vertx, config, new SimpleMeterRegistry(), UsageTesting.SEALING));
      send(vertx, record(id + "-8", hashKey, "keys_redis", "m", 2, 1));
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> cursorValue(cursor) == 9), "cursor " + cursorValue(cursor));
      assertEquals("118", await(redis.hget(prefix + hashKey, "used_quota")).toString());
      assertEquals(7, new JsonObject(await(redis.get(prefix + jsonKey)).toString()).getLong("used_quota"));
      assertEquals(20, usedQuota(db, table, dbKey));
      assertEquals(2, builtinCharges.size(), "asked again; the admin side answers charged=false");
    } finally {
      CompletableFuture<Void> cleaned = redis.keys(prefix + "*").compose(keys -> {
        List<String> names = keys.stream().map(Object::toString).toList();
        return names.isEmpty() ? Future.succeededFuture() : redis.del(names).mapEmpty();
      }).eventually(() -> db.pool().query("DROP TABLE IF EXISTS " + table).execute())
          .<Void>mapEmpty().toCompletionStage().toCompletableFuture();
      cleaned.get(10, TimeUnit.SECONDS);
      pools.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static long usedQuota(SqlDatabase db, String table, String key) throws Exception {
    return await(db.pool().preparedQuery("SELECT used_quota FROM " + table + " WHERE api_key = "
        + db.dialect().placeholder(1)).execute(Tuple.of(key))).iterator().next().getLong(0);
  }

  private static long cursorValue(Path journalDir) {
    try {
      return Journal.peekCursor(journalDir, "quota");
    } catch (Exception e) {
      return -1;
    }
  }
}
