package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.await;
import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.unique;
import static dev.llmproxy.usage.UsageTesting.usage;
import static dev.llmproxy.usage.UsageTesting.webhook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.FilesOnDisk;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import dev.llmproxy.usage.journal.JournalKeys;
import dev.llmproxy.usage.journal.UsageJournal;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a crash costs now that raw keys do not rest on disk in clear: records journaled by a gateway that stopped
 * before delivering them, read by a new one. With {@code LLMPROXY_JOURNAL_KEY} the raw key comes back from the
 * journal (sealed) and everything is delivered as before; without it, a Redis charge of a key not seen since is
 * skipped and an {@code include_raw_key} webhook gets the key masked, while a builtin charge (by hash) still happens.
 */
class RawKeyAfterRestartTest {

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void recordsJournaledBeforeARestart(boolean sealed, @TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    Map<String, String> env = sealed ? UsageTesting.SEALING : Map.of();
    String prefix = unique("llmproxy-test:restart") + ":";
    String redisKey = "sk-redis-restart-" + unique("k");
    String builtinKey = "sk-builtin-restart-" + unique("k");
    String id = unique("restart"); // Redis remembers a charged request id for 7 days
    RedisAPI redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:6379"));
    List<JsonObject> webhook = new CopyOnWriteArrayList<>();
    HttpServer receiver = await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1"))
        .requestHandler(request -> request.body().onSuccess(body -> {
          webhook.add(body.toJsonObject());
          request.response().end();
        })).listen(0));
    List<JsonObject> builtinCharges = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHARGE, m -> {
      m.body().getJsonArray("charges").forEach(c -> builtinCharges.add((JsonObject) c));
      m.reply(new JsonObject().put("charged", new JsonObject()));
    });
    JsonObject hook = webhook("raw", "http://127.0.0.1:" + receiver.actualPort() + "/usage");
    hook.getJsonObject("webhook").put("include_raw_key", true);
    JsonObject raw = usage(dir, hook)
        .put("storage", new JsonObject().put("caches", new JsonArray().add(new JsonObject().put("name", "cache")
            .put("driver", "redis").put("addr", "127.0.0.1:6379"))))
        .put("auth", new JsonObject().put("enabled", true).put("pipeline", new JsonArray()
            .add(new JsonObject().put("name", "keys_redis").put("type", "redis")
                .put("redis", new JsonObject().put("storage", "cache").put("key_pattern", prefix + "{api_key}")))
            .add(new JsonObject().put("name", "local").put("type", "builtin"))));
    // builtin requires admin (seed 000): its config only; the consumer above answers for the admin store
    raw.put("admin", new JsonObject().put("enabled", true).put("token", "t"));
    try {
      await(redis.hset(List.of(prefix + redisKey, "user_id", "u1", "status", "0", "used_quota", "0")));
      // The gateway that crashed: it journaled two records and delivered none (no cursor saved).
      Path journalDir = dir.resolve("journal");
      UsageJournal before = await(UsageJournal.open(vertx, journalDir, 1 << 20, Duration.ofMillis(2), () -> { },
          JournalKeys.fromEnvironment(env)));
      UsageRecord toRedis = record(id + "-1", redisKey, "keys_redis", "m", 5, 4);
      UsageRecord toBuiltin = record(id + "-2", builtinKey, "local", "m", 2, 1);
      await(before.append(toRedis));
      await(before.append(toBuiltin));
      await(before.close());
      assertEquals(List.of(), FilesOnDisk.containing(journalDir, redisKey));
      assertEquals(List.of(), FilesOnDisk.containing(journalDir, builtinKey));

      await(deploy(vertx, config(raw), new SimpleMeterRegistry(), env));
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> cursor(journalDir, "quota") == 3 && webhook.size() == 2),
          "quota cursor " + cursor(journalDir, "quota") + ", webhook got " + webhook.size());

      Response used = await(redis.hget(prefix + redisKey, "used_quota"));
      assertEquals(sealed ? "9" : "0", used.toString(), "the Redis key is charged only when its raw key came back");
      assertEquals(1, builtinCharges.size());
      assertEquals(KeyHash.sha256Hex(builtinKey), builtinCharges.get(0).getString("key_hash"),
          "a builtin charge needs only the hash");
      JsonObject first = webhook.stream().filter(b -> b.getString("request_id").equals(toRedis.requestId())).findFirst()
          .orElseThrow();
      assertEquals(sealed ? redisKey : toRedis.maskedKey(), first.getString("api_key"));
      assertNull(first.getValue("api_key_sealed"));
    } finally {
      await(redis.del(List.of(prefix + redisKey, "llmproxy:usage:charged:" + id + "-1")));
      await(vertx.close());
    }
  }

  private static long cursor(Path journalDir, String reader) {
    try {
      return Journal.peekCursor(journalDir, reader);
    } catch (Exception e) {
      return -1;
    }
  }
}
