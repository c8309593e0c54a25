package dev.llmproxy.proxy;

import dev.llmproxy.proxy.limit.RedisRateLimiter;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rate_limit with storage redis, on the machine's Redis (127.0.0.1:6379) with a key prefix of its own per test,
 * and on a Redis of its own for the outage cases.
 */
@ExtendWith(VertxExtension.class)
class RedisRateLimitTest {

  private static final String CHAT = RateLimitTokensTest.CHAT;

  private MockLlmBackend backend;
  private String prefix;
  private Redis redis;
  private Process ownRedis;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    prefix = "llmproxy:ratelimit:test-" + UUID.randomUUID() + ":";
    redis = Redis.createClient(vertx, "redis://127.0.0.1:6379");
  }

  @AfterEach
  void stop() {
    Response keys = Http.await(redis.send(Request.cmd(Command.KEYS).arg(prefix + "*")));
    if (keys.size() > 0) {
      Request del = Request.cmd(Command.DEL);
      keys.forEach(k -> del.arg(k.toString()));
      Http.await(redis.send(del));
    }
    redis.close();
    backend.close();
    if (ownRedis != null) {
      ownRedis.destroyForcibly();
    }
  }

  private ProxyHarness proxy(Vertx vertx, String redisAddr, JsonObject rateLimit, JsonObject more) {
    return proxy(vertx, redisAddr, rateLimit, more, RedisRateLimiter.SLOT_LIFETIME_MS);
  }

  private ProxyHarness proxy(Vertx vertx, String redisAddr, JsonObject rateLimit, JsonObject more, long slotLifetimeMs) {
    JsonObject config = new JsonObject()
        .put("storage", new JsonObject().put("caches", new JsonArray().add(new JsonObject()
            .put("name", "limits").put("driver", "redis").put("addr", redisAddr).put("dial_timeout", "200ms"))))
        .put("rate_limit", rateLimit.put("enabled", true).put("storage", "redis").put("redis", "limits"))
        .mergeIn(more, true);
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), config, environment -> {
      environment.rateLimitPrefix(prefix);
      environment.slotLifetime(slotLifetimeMs);
    }));
  }

  /** On the machine's Redis, with a store timeout that a busy machine does not trip (the outage test has its own). */
  private ProxyHarness proxy(Vertx vertx, JsonObject rateLimit) {
    return proxy(vertx, "127.0.0.1:6379", rateLimit.put("store_timeout", "5s"), new JsonObject());
  }

  private long redisMinute() {
    Response time = Http.await(redis.send(Request.cmd(Command.TIME)));
    return time.get(0).toLong() / 60;
  }

  private long sum(String pattern) {
    Response keys = Http.await(redis.send(Request.cmd(Command.KEYS).arg(prefix + pattern)));
    long total = 0;
    for (Response key : keys) {
      Response value = Http.await(redis.send(Request.cmd(Command.GET).arg(key.toString())));
      total += value == null ? 0 : value.toLong();
    }
    return total;
  }

  @Test
  void aBurstPassesAndTheNextRequestIsRefused(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global",
        new JsonObject().put("requests_per_second", 1).put("burst_size", 2)));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per second for the gateway"));
    assertEquals("1", refused.headers().get("Retry-After"));
    // The bucket is the original's hash: tokens and last_update.
    Response bucket = Http.await(redis.send(Request.cmd(Command.HGETALL).arg(prefix + "global:bucket")));
    assertTrue(bucket.containsKey("tokens") && bucket.containsKey("last_update"), bucket.toString());
  }

  @Test
  void requestsPerMinuteCountDownAcrossRequests(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("per_key", new JsonObject().put("requests_per_minute", 100))
        .put("global", new JsonObject().put("requests_per_minute", 3)));
    for (int left = 2; left >= 0; left--) {
      Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", CHAT);
      assertEquals(200, ok.status());
      assertEquals("3", ok.headers().get("x-ratelimit-limit-requests"));
      assertEquals(Integer.toString(left), ok.headers().get("x-ratelimit-remaining-requests"));
    }
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute for the gateway"));
  }

  @Test
  void aTokenReservationSettlesToTheReportedUsageAndAnEstimateWhenThereIsNone(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("tokens_per_minute", 1000)));
    Http.Answer first = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(200, first.status());
    assertEquals("1000", first.headers().get("x-ratelimit-limit-tokens"));
    assertTrue(Long.parseLong(first.headers().get("x-ratelimit-remaining-tokens")) <= 995);
    proxy.nextUsage();
    long reported = MockLlmBackend.PROMPT_TOKENS + 2;
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> sum("global:tpm:*") == reported),
        "the reservation of 5 was not settled to " + reported + ": " + sum("global:tpm:*"));

    Http.post(proxy.client, "/v1/chat/completions", java.util.Map.of("X-Mock-No-Usage", "1"), CHAT);
    UsageRecord estimated = proxy.nextUsage();
    assertTrue(estimated.estimated());
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> sum("global:tpm:*") == reported + estimated.totalTokens()),
        "not settled to the estimate: " + sum("global:tpm:*"));

    Http.Answer tooBig = Http.post(proxy.client, "/v1/chat/completions",
        "{\"model\":\"mock\",\"max_tokens\":2000,\"messages\":[]}");
    assertEquals(429, tooBig.status());
    assertTrue(tooBig.error().getString("message").contains("tokens per minute"));
    assertEquals("1000", tooBig.headers().get("x-ratelimit-limit-tokens"));
  }

  @Test
  void aConcurrencySlotIsHeldWhileStreamingFreedAfterAndADeadHoldersSlotExpires(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("max_concurrent", 1)));
    Http.OpenStream stream = Http.openStream(proxy.client, "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":50}", 200);
    Http.Answer busy = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, busy.status());
    assertTrue(busy.error().getString("message").contains("concurrent requests for the gateway"));
    stream.abort();
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> Http.post(proxy.client, "/v1/chat/completions", CHAT).status() == 200),
        "the aborted stream's slot was not given back");

    // A slot whose gateway died (never freed) counts only until it expires.
    Response time = Http.await(redis.send(Request.cmd(Command.TIME)));
    long nowMs = time.get(0).toLong() * 1000 + time.get(1).toLong() / 1000;
    Http.await(redis.send(Request.cmd(Command.ZADD).arg(prefix + "global:conc").arg(nowMs + 60_000).arg("alive:1")));
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    Http.await(redis.send(Request.cmd(Command.ZADD).arg(prefix + "global:conc").arg(nowMs - 1).arg("alive:1")));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
  }

  @Test
  void aStreamLongerThanTheSlotLifetimeKeepsItsSlot(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, "127.0.0.1:6379", new JsonObject().put("store_timeout", "5s")
        .put("global", new JsonObject().put("max_concurrent", 1)), new JsonObject(), 900);
    // about 3 s of stream: more than three lifetimes of its slot
    CompletableFuture<Void> ended = Http.openStream(proxy.client,
        "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":15}", 200).ended();
    long deadline = System.nanoTime() + 2_500_000_000L;
    while (System.nanoTime() < deadline && !ended.isDone()) {
      assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", CHAT).status(),
          "the running stream's slot expired while it was alive");
    }
    ended.get(10, TimeUnit.SECONDS);
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> Http.post(proxy.client, "/v1/chat/completions", CHAT).status() == 200),
        "the finished stream's slot was not given back");
  }

  @Test
  void twoGatewaysSharingOneRedisAdmitNoMoreThanTheLimit(Vertx vertx) {
    Vertx other = Vertx.vertx();
    try {
      JsonObject limits = new JsonObject().put("global", new JsonObject().put("requests_per_minute", 10));
      ProxyHarness a = proxy(vertx, limits.copy());
      ProxyHarness b = proxy(other, limits.copy());
      int admitted = 0;
      long minute = redisMinute();
      for (int i = 0; i < 30; i++) {
        admitted += Http.post((i % 2 == 0 ? a : b).client, "/v1/chat/completions", CHAT).status() == 200 ? 1 : 0;
      }
      if (redisMinute() == minute) {
        assertEquals(10, admitted);
      } else {
        // The window slid into a new minute meanwhile: the last minute's count weighs (1 - seconds into the minute
        // / 60) of itself, so within the few seconds this takes at most one more request fits.
        assertTrue(admitted >= 10 && admitted <= 11, admitted + " admitted across a minute boundary");
      }
      assertEquals(admitted, backend.completions());

      JsonObject burst = new JsonObject().put("per_key", new JsonObject()).put("global",
          new JsonObject().put("requests_per_second", 2).put("burst_size", 4));
      prefix = prefix + "burst:";
      ProxyHarness c = proxy(vertx, burst.copy());
      ProxyHarness d = proxy(other, burst.copy());
      long started = System.nanoTime();
      int passed = 0;
      for (int i = 0; i < 20; i++) {
        passed += Http.post((i % 2 == 0 ? c : d).client, "/v1/chat/completions", CHAT).status() == 200 ? 1 : 0;
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      assertTrue(passed >= 4 && passed <= 4 + 2 * seconds + 1, passed + " passed in " + seconds + " s");
    } finally {
      Http.await(other.close());
      prefix = prefix.endsWith("burst:") ? prefix.substring(0, prefix.length() - 6) : prefix;
    }
  }

  @Test
  void aStoppedRedisFollowsOnStoreErrorQuicklyAndIsCounted(Vertx vertx) throws Exception {
    int port = startOwnRedis();
    // Long enough for a busy machine's first calls, short enough to show that a hung store never hangs a request.
    JsonObject limits = new JsonObject().put("store_timeout", "500ms")
        .put("global", new JsonObject().put("requests_per_minute", 100));
    ProxyHarness deny = proxy(vertx, "127.0.0.1:" + port, limits.copy().put("on_store_error", "deny"), new JsonObject());
    ProxyHarness allow = proxy(vertx, "127.0.0.1:" + port, limits.copy().put("on_store_error", "allow"), new JsonObject());
    // A fresh Redis has no script: the first call loads it (NOSCRIPT, then SCRIPT LOAD).
    Http.Answer first = Http.post(deny.client, "/v1/chat/completions", CHAT);
    assertEquals(200, first.status());
    assertEquals("99", first.headers().get("x-ratelimit-remaining-requests"));
    assertEquals("98", Http.post(allow.client, "/v1/chat/completions", CHAT).headers().get("x-ratelimit-remaining-requests"));

    // A Redis that hangs (stopped, not gone) is decided by the store timeout.
    assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(ownRedis.pid())).start().waitFor());
    long hungAt = System.nanoTime();
    Http.Answer whileHung = Http.post(deny.client, "/v1/chat/completions", CHAT);
    long hungMs = (System.nanoTime() - hungAt) / 1_000_000;
    assertEquals(503, whileHung.status());
    assertTrue(hungMs < 2500, "took " + hungMs + " ms");

    ownRedis.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    long started = System.nanoTime();
    Http.Answer refused = Http.post(deny.client, "/v1/chat/completions", CHAT);
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    assertEquals(503, refused.status());
    assertEquals("rate_limit_unavailable", refused.error().getString("code"));
    assertTrue(tookMs < 2000, "took " + tookMs + " ms");
    Http.Answer allowed = Http.post(allow.client, "/v1/chat/completions", CHAT);
    assertEquals(200, allowed.status());
    assertEquals(null, allowed.headers().get("x-ratelimit-remaining-requests"));
    assertTrue(deny.environment.registry().scrape().matches("(?s).*llmproxy_ratelimit_store_errors_total [1-9].*"),
        deny.environment.registry().scrape());
  }

  @Test
  void aScriptSkipsLimitsInRedisToo(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject()
        .put("script", new JsonObject().put("enabled", true)
            .put("script", "if request.model == 'free' then return {skip = true} end"))
        .put("global", new JsonObject().put("requests_per_minute", 1)));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    String free = "{\"model\":\"free\",\"max_tokens\":2,\"messages\":[]}";
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", free).status());
    }
  }

  /** A redis-server of this test's own on a free port, so that it can be stopped; skips when there is none. */
  private int startOwnRedis() throws IOException {
    File binary = new File("/usr/bin/redis-server");
    Assumptions.assumeTrue(binary.canExecute(), "redis-server is not installed: the outage case is skipped");
    int port = ProxyHarness.freePort();
    ownRedis = new ProcessBuilder(binary.getPath(), "--port", Integer.toString(port), "--save", "", "--appendonly", "no",
        "--bind", "127.0.0.1").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException e) {
        return false;
      }
    }), "own redis-server did not start");
    return port;
  }
}
