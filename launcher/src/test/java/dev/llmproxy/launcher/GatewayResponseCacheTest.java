package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code caching.response_cache} through every verticle: hits and misses, the client's bypass, one key's answers
 * never served to another (unless {@code shared}), expiry, Redis storage, the usage record of a hit, and a hit
 * charged nothing against TPM or the quota.
 */
class GatewayResponseCacheTest {

  /** MockLlmBackend reports 7 prompt tokens and max_tokens completion tokens. */
  private static final int TOKENS_PER_MISS = MockLlmBackend.PROMPT_TOKENS + 5;

  private static String chat(String text) {
    return "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";
  }

  @Test
  void hitsMissesBypassIsolationUsageRecordsAndTpm(@TempDir Path dir) throws Exception {
    // 80 tokens a minute per key: one miss costs 12; were hits charged like misses, the fourth hit would be refused.
    String yaml = GatewayQuotaTest.builtinKeysWithUsage(dir) + """
        rate_limit:
          enabled: true
          per_key:
            tokens_per_minute: 80
        caching:
          enabled: true
          response_cache:
            max_size_mb: 8
            ttl: 1h
        """;
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      String a = createKey(gateway, "a");
      String b = createKey(gateway, "b");
      String request = chat("what is a cache?");

      HttpResponse<String> first = gateway.chat(a, request);
      assertEquals(200, first.statusCode(), first.body());
      assertEquals("MISS", first.headers().firstValue("X-Cache").orElse(null));
      assertEquals(1, gateway.backend.completions());

      HttpResponse<String> second = gateway.chat(a, request);
      assertEquals(200, second.statusCode(), second.body());
      assertEquals("HIT", second.headers().firstValue("X-Cache").orElse(null));
      assertEquals(first.body(), second.body(), "the hit is the stored answer, byte for byte");
      assertTrue(second.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
      assertEquals(1, gateway.backend.completions(), "a hit asks no backend");

      // The same request with its fields in another order and other spacing is the same canonical JSON.
      String reordered = "{ \"messages\": [ {\"content\":\"what is a cache?\", \"role\":\"user\"} ], \"max_tokens\": 5,"
          + " \"model\": \"mock\" }";
      assertEquals("HIT", gateway.chat(a, reordered).headers().firstValue("X-Cache").orElse(null));

      HttpResponse<String> bypassed = gateway.post("/v1/chat/completions", request, "Authorization", "Bearer " + a,
          "Cache-Control", "no-cache");
      assertEquals(200, bypassed.statusCode(), bypassed.body());
      assertEquals("MISS", bypassed.headers().firstValue("X-Cache").orElse(null));
      assertEquals(2, gateway.backend.completions(), "Cache-Control: no-cache goes to the backend");
      HttpResponse<String> noStore = gateway.post("/v1/chat/completions", request, "Authorization", "Bearer " + a,
          "Cache-Control", "no-store");
      assertEquals(200, noStore.statusCode(), noStore.body());
      assertEquals("MISS", noStore.headers().firstValue("X-Cache").orElse(null));
      assertEquals(3, gateway.backend.completions(), "Cache-Control: no-store goes to the backend");

      HttpResponse<String> otherKey = gateway.chat(b, request);
      assertEquals("MISS", otherKey.headers().firstValue("X-Cache").orElse(null), "key b never sees key a's answer");
      assertEquals(4, gateway.backend.completions());

      // Key a: 3 misses (36 tokens of 80). Four hits more: none charged, so a new request still fits the minute.
      for (int i = 0; i < 4; i++) {
        HttpResponse<String> hit = gateway.chat(a, request);
        assertEquals(200, hit.statusCode(), "hit " + i + ": " + hit.body());
        assertEquals("HIT", hit.headers().firstValue("X-Cache").orElse(null));
      }
      HttpResponse<String> fresh = gateway.chat(a, chat("a new question"));
      assertEquals(200, fresh.statusCode(), "hits were not charged against TPM: " + fresh.body());
      assertEquals("MISS", fresh.headers().firstValue("X-Cache").orElse(null));

      // A reload that keeps max_size_mb and ttl keeps the memory cache and what it holds.
      java.nio.file.Files.writeString(gateway.configFile, java.nio.file.Files.readString(gateway.configFile)
          + "model_overrides:\n  other-model:\n    max_tokens: 1\n");
      JsonObject reloaded = RunningGateway.await(gateway.gateway.reloadFile(), 30);
      assertTrue(reloaded.encode().contains("model_overrides"), reloaded.encode());
      HttpResponse<String> afterReload = gateway.chat(a, request);
      assertEquals("HIT", afterReload.headers().firstValue("X-Cache").orElse(null), afterReload.body());

      String metrics = gateway.get("/metrics").body();
      assertTrue(metrics.contains("llmproxy_response_cache_total{result=\"hit\"} 7.0"), metrics);
      assertTrue(metrics.contains("llmproxy_response_cache_total{result=\"bypass\"} 2.0"), metrics);

      long misses = 4;
      long hits = 7;
      assertTrue(Poll.until(Duration.ofSeconds(15), () -> GatewayQuotaTest.usedQuota(gateway, a) == misses * TOKENS_PER_MISS),
          "used_quota counts the misses only: " + GatewayQuotaTest.usedQuota(gateway, a));
      AtomicReference<String> rows = new AtomicReference<>();
      assertTrue(Poll.until(Duration.ofSeconds(15), () -> {
        rows.set(usageRows(dir, a));
        return rows.get().equals("hits=" + hits + " hitTokens=0 hitBackends=0 misses=" + misses
            + " missTokens=" + misses * TOKENS_PER_MISS);
      }), "usage_records of key a: " + rows.get());
    }
  }

  @Test
  void sharedAnswersInRedisServeEveryKeyUntilTheyExpire(@TempDir Path dir) throws Exception {
    String yaml = GatewayQuotaTest.builtinKeysWithUsage(dir) + """
        storage:
          caches:
            - name: answers
              driver: redis
              addr: "127.0.0.1:6379"
        caching:
          enabled: true
          response_cache:
            ttl: 2s
            storage: answers
            shared: true
        """;
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      String a = createKey(gateway, "a");
      String b = createKey(gateway, "b");
      // A question of its own: an earlier run's answers in the local Redis cannot answer it.
      String request = chat("shared " + UUID.randomUUID());

      assertEquals("MISS", gateway.chat(a, request).headers().firstValue("X-Cache").orElse(null));
      // Stored once the answer ended: the next request finds it unless 2 s passed (a loaded machine), so poll.
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> "HIT".equals(cacheHeader(gateway, b, request))),
          "key b is served key a's answer: shared is true");
      int asked = gateway.backend.completions();
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> "MISS".equals(cacheHeader(gateway, b, request))),
          "the answer expires after its ttl");
      assertEquals(asked + 1, gateway.backend.completions(), "the expired answer was asked for again");

      // Embeddings too (under a 2 s ttl: a miss and a hit may be split by an expiry on a loaded machine, so poll).
      asked = gateway.backend.completions();
      String embed = "{\"model\":\"mock\",\"input\":\"cache me " + UUID.randomUUID() + "\"}";
      HttpResponse<String> embedMiss = gateway.post("/v1/embeddings", embed, "Authorization", "Bearer " + a);
      assertEquals("MISS", embedMiss.headers().firstValue("X-Cache").orElse(null), embedMiss.body());
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> embedMiss.body().equals(hitBody(gateway, "/v1/embeddings",
          embed, a))), "embeddings are cached too");

      String streaming = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"stream\"}]}";
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> streamed = gateway.chat(a, streaming);
        assertEquals(200, streamed.statusCode(), streamed.body());
        assertTrue(streamed.headers().firstValue("X-Cache").isEmpty(), "a stream bypasses the cache");
      }
      assertEquals(asked + 2, gateway.backend.completions(), "both streams reached the backend");
    }
  }

  /** The body of a hit, or null for anything else. */
  private static String hitBody(RunningGateway gateway, String path, String body, String key) {
    try {
      HttpResponse<String> answer = gateway.post(path, body, "Authorization", "Bearer " + key);
      return "HIT".equals(answer.headers().firstValue("X-Cache").orElse(null)) ? answer.body() : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static String cacheHeader(RunningGateway gateway, String key, String request) {
    try {
      HttpResponse<String> answer = gateway.chat(key, request);
      return answer.statusCode() == 200 ? answer.headers().firstValue("X-Cache").orElse("none") : "status "
          + answer.statusCode();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String createKey(RunningGateway gateway, String name) throws Exception {
    HttpResponse<String> created = GatewayQuotaTest.admin(gateway, "/admin/keys/create",
        new JsonObject().put("name", name).put("user_id", "u-" + name).put("total_quota", 100_000));
    assertEquals(200, created.statusCode(), created.body());
    return new JsonObject(created.body()).getJsonObject("data").getString("key");
  }

  /** The builtin store's records of {@code key}: hits (cached) and misses, their tokens and backends. */
  private static String usageRows(Path dir, String key) {
    String keyHash = dev.llmproxy.common.bus.KeyHash.sha256Hex(key);
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("keys.db"));
         ResultSet rs = db.createStatement().executeQuery("SELECT SUM(cached), SUM(CASE WHEN cached = 1 THEN "
             + "total_tokens ELSE 0 END), SUM(CASE WHEN cached = 1 AND backend_url IS NOT NULL THEN 1 ELSE 0 END), "
             + "SUM(1 - cached), SUM(CASE WHEN cached = 0 THEN total_tokens ELSE 0 END) FROM usage_records "
             + "WHERE key_hash = '" + keyHash + "'")) {
      rs.next();
      return "hits=" + rs.getLong(1) + " hitTokens=" + rs.getLong(2) + " hitBackends=" + rs.getLong(3) + " misses="
          + rs.getLong(4) + " missTokens=" + rs.getLong(5);
    } catch (Exception e) {
      return e.toString();
    }
  }
}
