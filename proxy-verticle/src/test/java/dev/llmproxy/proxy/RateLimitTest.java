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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rate_limit in memory: each limit alone, and the 429 a client sees. */
@ExtendWith(VertxExtension.class)
class RateLimitTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private ProxyHarness proxy(Vertx vertx, JsonObject rateLimit, JsonObject more) {
    return ProxyHarness.withRateLimit(vertx, backend.baseUrl(), rateLimit, more);
  }

  @Test
  void aBurstPassesAndTheNextRequestIsRefusedWithOpenAiHeaders(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global",
        new JsonObject().put("requests_per_second", 1).put("burst_size", 2)), new JsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertEquals("rate_limit_exceeded", refused.error().getString("code"));
    assertTrue(refused.error().getString("message").contains("requests per second for the gateway"),
        refused.error().getString("message"));
    assertEquals("1", refused.headers().get("Retry-After"));
    assertEquals("0", refused.headers().get("x-ratelimit-remaining-requests"));
    assertEquals(2, backend.completions());
  }

  /** Issue 17: the gateway's budget is the one a client reads, once, and a backend's Server header stays behind. */
  @Test
  void theGatewaysBudgetWinsOverTheBackendsAndServerIsNotPassedOn(Vertx vertx) {
    ProxyHarness limited = proxy(vertx, new JsonObject().put("global", new JsonObject().put("requests_per_minute", 3)),
        new JsonObject());
    Http.Answer ok = Http.post(limited.client, "/v1/chat/completions", Map.of("Content-Type", "application/json",
        "X-Mock-Provider-Headers", "1"), CHAT);
    assertEquals(200, ok.status());
    assertEquals(List.of("3"), ok.headers().getAll("x-ratelimit-limit-requests"));
    assertEquals(List.of("2"), ok.headers().getAll("x-ratelimit-remaining-requests"));
    assertEquals(null, ok.headers().get("Server"));
    String stream = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":2,\"messages\":[]}";
    Http.Answer streamed = Http.post(limited.client, "/v1/chat/completions", Map.of("Content-Type", "application/json",
        "X-Mock-Provider-Headers", "1"), stream);
    assertEquals(List.of("1"), streamed.headers().getAll("x-ratelimit-remaining-requests"));
    assertEquals(null, streamed.headers().get("Server"));
  }

  @Test
  void aRequestsPerMinuteLimitAloneWorksAndCountsDown(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("requests_per_minute", 3)),
        new JsonObject());
    for (int left = 2; left >= 0; left--) {
      Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", CHAT);
      assertEquals(200, ok.status());
      assertEquals("3", ok.headers().get("x-ratelimit-limit-requests"));
      assertEquals(Integer.toString(left), ok.headers().get("x-ratelimit-remaining-requests"));
    }
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute"));
    assertTrue(Long.parseLong(refused.headers().get("Retry-After")) >= 1);
  }

  @Test
  void aConcurrencySlotComesBackWhenTheStreamEndsOrTheClientLeavesOrTheBackendFails(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("max_concurrent", 1)),
        new JsonObject().put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false))));
    Http.OpenStream stream = Http.openStream(proxy.client, "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":50}", 200);

    Http.Answer busy = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, busy.status());
    assertTrue(busy.error().getString("message").contains("concurrent requests"));

    stream.abort();
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> Http.post(proxy.client, "/v1/chat/completions", CHAT).status() == 200),
        "the aborted stream's slot was not given back");

    backend.failNext(1, 502, null);
    assertEquals(502, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status(), "a failed request gives its slot back");
  }

  @Test
  void aKeysOwnLimitWinsOverPerKeyAndOtherKeysAreNotAffected(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      AuthCheck check = AuthCheck.fromJson(message.body());
      boolean tight = check.apiKey().equals("sk-tight-000000000");
      message.reply(new AuthDecision(true, 200, null, null, tight ? "tight" : "loose", null, null, null, null,
          tight ? 1L : null, null, null, 0).toJson());
    });
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("per_key", new JsonObject().put("requests_per_minute", 100)),
        new JsonObject().put("auth", new JsonObject().put("enabled", true)));
    Map<String, String> tight = Map.of("Authorization", "Bearer sk-tight-000000000");
    Map<String, String> loose = Map.of("Authorization", "Bearer sk-loose-000000000");
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", tight, CHAT).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", tight, CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute for this key"));
    for (int i = 0; i < 5; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", loose, CHAT).status());
    }
  }

  @Test
  void rateLimitOnAMemoryCacheLimitsInThisProcess(Vertx vertx) {
    JsonObject memoryCache = new JsonObject().put("name", "local").put("driver", "memory").put("max_size", 100);
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("storage", "redis").put("redis", "local")
            .put("global", new JsonObject().put("requests_per_minute", 2)),
        new JsonObject().put("storage", new JsonObject().put("caches", new JsonArray().add(memoryCache))));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute for the gateway"));
  }
}
