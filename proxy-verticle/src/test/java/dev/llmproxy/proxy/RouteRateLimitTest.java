package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seed 002's {@code rate_limit.routes} on a real proxy: a route's limit counts that one route (after normalisation)
 * for each key, or each client address without one; in memory and in Redis (127.0.0.1:6379, a key prefix per test).
 */
@ExtendWith(VertxExtension.class)
class RouteRateLimitTest {

  private static final String EMBED = "{\"model\":\"mock\",\"input\":\"hello\"}";
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";
  private static final Map<String, String> JSON = Map.of("Content-Type", "application/json");

  private MockLlmBackend backend;
  private String prefix;
  private Redis redis;

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
  }

  private static JsonObject routes(String path, String rate) {
    return new JsonObject().put("routes", new JsonObject().put(path, rate));
  }

  private ProxyHarness memory(Vertx vertx, JsonObject rateLimit, JsonObject more) {
    return ProxyHarness.withRateLimit(vertx, backend.baseUrl(), rateLimit, more);
  }

  /** Limits in the machine's Redis, under this test's prefix; every harness started so is one more gateway node. */
  private ProxyHarness redis(Vertx vertx, JsonObject rateLimit) {
    JsonObject config = new JsonObject()
        .put("storage", new JsonObject().put("caches", new JsonArray().add(new JsonObject()
            .put("name", "limits").put("driver", "redis").put("addr", "127.0.0.1:6379"))))
        .put("rate_limit", rateLimit.put("enabled", true).put("storage", "redis").put("redis", "limits")
            .put("store_timeout", "5s"));
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), config,
        environment -> environment.rateLimitPrefix(prefix)));
  }

  /** Two requests pass, counting down; the third, spelled with a trailing '/' or other case, is refused. */
  private static void twoPassThenRefused(ProxyHarness first, ProxyHarness second) {
    Http.Answer one = Http.post(first.client, "/v1/embeddings", EMBED);
    assertEquals(200, one.status(), one.text());
    assertEquals("2", one.headers().get("x-ratelimit-limit-requests"));
    assertEquals("1", one.headers().get("x-ratelimit-remaining-requests"));
    Http.Answer two = Http.post(second.client, "/v1/embeddings", EMBED);
    assertEquals(200, two.status(), two.text());
    assertEquals("0", two.headers().get("x-ratelimit-remaining-requests"));

    for (String spelling : List.of("/v1/embeddings", "/v1/embeddings/", "/v1/Embeddings", "/v1/embeddings?x=1")) {
      Http.Answer refused = Http.post(first.client, spelling, EMBED);
      assertEquals(429, refused.status(), spelling + ": " + refused.text());
      assertEquals("rate_limit_exceeded", refused.error().getString("code"));
      assertTrue(refused.error().getString("message").contains(
          "requests per minute on /v1/embeddings for this client address is 2"), refused.text());
      long retryAfter = Long.parseLong(refused.headers().get("Retry-After"));
      assertTrue(retryAfter >= 1 && retryAfter <= 120, "Retry-After " + retryAfter);
      assertEquals("2", refused.headers().get("x-ratelimit-limit-requests"));
      assertEquals("0", refused.headers().get("x-ratelimit-remaining-requests"));
    }
    // Another route, and a path below or beside the limited one, are not limited by it.
    for (int i = 0; i < 4; i++) {
      assertEquals(200, Http.post(first.client, "/v1/chat/completions", CHAT).status());
      assertEquals(200, Http.post(second.client, "/v1/embeddings/extra", EMBED).status());
      assertEquals(200, Http.post(first.client, "/v1/embeddingsx", EMBED).status());
    }
  }

  private static void counted(ProxyHarness proxy, String limit, int times) {
    String series = "llmproxy_ratelimit_rejections_total{limit=\"" + limit + "\",scope=\"route\"} " + times + ".0";
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> proxy.environment.registry().scrape().contains(series)),
        proxy.environment.registry().scrape());
  }

  @Test
  void inMemoryTheRouteIsLimitedExactlyAndNoOtherRouteIs(Vertx vertx) {
    ProxyHarness proxy = memory(vertx, routes("/v1/embeddings", "2/minute"), new JsonObject());
    twoPassThenRefused(proxy, proxy);
    counted(proxy, "requests_per_minute", 4);
  }

  @Test
  void inRedisTheRouteIsLimitedExactlyAcrossTwoGatewayNodes(Vertx vertx) {
    ProxyHarness first = redis(vertx, routes("/v1/embeddings", "2/minute"));
    ProxyHarness second = redis(vertx, routes("/v1/embeddings", "2/minute"));
    twoPassThenRefused(first, second);
    Response keys = Http.await(redis.send(Request.cmd(Command.KEYS).arg(prefix + "route:*")));
    assertEquals(1, keys.size(), keys.toString());
    assertTrue(keys.get(0).toString().startsWith(prefix + "route:minute:/v1/embeddings|ip:127.0.0.1:win:"),
        keys.toString());
    counted(first, "requests_per_minute", 4);
  }

  /** Without a key each client address has its own count (behind a trusted proxy: the forwarded address). */
  @Test
  void withoutAKeyEachClientAddressIsCountedApart(Vertx vertx) {
    ProxyHarness proxy = memory(vertx, routes("/v1/embeddings", "1/minute"), new JsonObject()
        .put("server", new JsonObject().put("trusted_proxies", new JsonArray().add("127.0.0.0/8"))));
    Map<String, String> a = Map.of("Content-Type", "application/json", "X-Forwarded-For", "203.0.113.1");
    Map<String, String> b = Map.of("Content-Type", "application/json", "X-Forwarded-For", "203.0.113.2");
    assertEquals(200, Http.post(proxy.client, "/v1/embeddings", a, EMBED).status());
    assertEquals(429, Http.post(proxy.client, "/v1/embeddings", a, EMBED).status());
    assertEquals(200, Http.post(proxy.client, "/v1/embeddings", b, EMBED).status());
    assertEquals(429, Http.post(proxy.client, "/v1/embeddings", b, EMBED).status());
  }

  /** With auth on, each key has its own count, wherever its requests come from. */
  @Test
  void withAKeyEachKeyIsCountedApart(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      AuthCheck check = AuthCheck.fromJson(message.body());
      String id = check.apiKey().equals("sk-first-000000000") ? "first" : "second";
      message.reply(new AuthDecision(true, 200, null, null, id, null, null, null, null, null, null, null, 0).toJson());
    });
    ProxyHarness proxy = memory(vertx, routes("/v1/embeddings", "1/minute"), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("server", new JsonObject().put("trusted_proxies", new JsonArray().add("127.0.0.0/8"))));
    Map<String, String> first = Map.of("Content-Type", "application/json", "Authorization", "Bearer sk-first-000000000",
        "X-Forwarded-For", "203.0.113.1");
    Map<String, String> firstElsewhere = Map.of("Content-Type", "application/json",
        "Authorization", "Bearer sk-first-000000000", "X-Forwarded-For", "203.0.113.2");
    Map<String, String> second = Map.of("Content-Type", "application/json",
        "Authorization", "Bearer sk-second-00000000", "X-Forwarded-For", "203.0.113.1");
    assertEquals(200, Http.post(proxy.client, "/v1/embeddings", first, EMBED).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/embeddings", firstElsewhere, EMBED);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute on /v1/embeddings for this key"),
        refused.text());
    assertEquals(200, Http.post(proxy.client, "/v1/embeddings", second, EMBED).status());
    assertEquals(429, Http.post(proxy.client, "/v1/embeddings", second, EMBED).status());
  }

  /** A request refused by one limit is counted by none: the route's refusal takes nothing from the gateway's RPM. */
  private static void aRefusalCountsNowhere(ProxyHarness proxy) {
    assertEquals(200, Http.post(proxy.client, "/v1/embeddings", EMBED).status());
    for (int i = 0; i < 3; i++) {
      Http.Answer refused = Http.post(proxy.client, "/v1/embeddings", EMBED);
      assertEquals(429, refused.status());
      assertTrue(refused.error().getString("message").contains("on /v1/embeddings"), refused.text());
    }
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    Http.Answer global = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, global.status());
    assertTrue(global.error().getString("message").contains("requests per minute for the gateway"), global.text());
  }

  @Test
  void aRouteRefusalTakesNothingFromTheGatewaysLimitInMemoryAndInRedis(Vertx vertx) {
    JsonObject limits = routes("/v1/embeddings", "1/minute")
        .put("global", new JsonObject().put("requests_per_minute", 3));
    aRefusalCountsNowhere(memory(vertx, limits.copy(), new JsonObject()));
    aRefusalCountsNowhere(redis(vertx, limits.copy()));
  }

  /** An hour's window says when a request fits again; on /v1/messages in Anthropic's error shape. */
  private static void anHourOnMessages(ProxyHarness proxy) {
    String messages = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assertEquals(200, Http.post(proxy.client, "/v1/messages", JSON, messages).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/messages", JSON, messages);
    assertEquals(429, refused.status());
    JsonObject body = refused.json();
    assertEquals("error", body.getString("type"), refused.text());
    assertEquals("rate_limit_error", body.getJsonObject("error").getString("type"), refused.text());
    assertTrue(body.getJsonObject("error").getString("message").contains("requests per hour on /v1/messages"),
        refused.text());
    long retryAfter = Long.parseLong(refused.headers().get("Retry-After"));
    assertTrue(retryAfter > 60 && retryAfter <= 7200, "Retry-After " + retryAfter);
    assertFalse(refused.text().contains("Exception"), refused.text());
  }

  @Test
  void anHourlyLimitOnMessagesAnswersInAnthropicsShapeInMemoryAndInRedis(Vertx vertx) {
    ProxyHarness inMemory = memory(vertx, routes("/v1/messages", "1/hour"), new JsonObject());
    anHourOnMessages(inMemory);
    counted(inMemory, "requests_per_hour", 1);
    ProxyHarness inRedis = redis(vertx, routes("/v1/messages", "1/hour"));
    anHourOnMessages(inRedis);
    counted(inRedis, "requests_per_hour", 1);
  }

  /** A rate_limit.script's skip skips every limit, the route's too. */
  @Test
  void aScriptsSkipSkipsTheRoutesLimit(Vertx vertx) {
    ProxyHarness proxy = memory(vertx, routes("/v1/chat/completions", "1/minute")
        .put("script", new JsonObject().put("enabled", true)
            .put("script", "if request.model == 'free' then return {skip = true} end")), new JsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    String free = "{\"model\":\"free\",\"max_tokens\":2,\"messages\":[]}";
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", free).status());
    }
  }
}
