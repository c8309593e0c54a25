package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rate_limit in memory: tokens per minute (reserve, then settle), estimated usage, limits combined, the script. */
@ExtendWith(VertxExtension.class)
class RateLimitTokensTest {

  /** Its prompt counts 3 tokens (the reply priming of an empty conversation); it reserves 3 + 2. */
  static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";
  static final String CHAT_STREAM = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":3,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"count to three\"}]}";

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

  static long prompt(String body) {
    return TokenCounter.prompt(body.getBytes(StandardCharsets.UTF_8)).promptTokens();
  }

  @Test
  void aTokenReservationSettlesToTheUsageTheBackendReports(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("tokens_per_minute", 100)),
        new JsonObject());
    assertEquals(3, prompt(CHAT));
    Http.Answer first = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(200, first.status());
    assertEquals("100", first.headers().get("x-ratelimit-limit-tokens"));
    assertEquals("95", first.headers().get("x-ratelimit-remaining-tokens"), "3 prompt + 2 max_tokens reserved");
    assertTrue(first.headers().get("x-ratelimit-reset-tokens").endsWith("s"));
    UsageRecord record = proxy.nextUsage();
    assertFalse(record.estimated());
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 2, record.totalTokens());

    // The first request was settled to its 9 reported tokens; the second reserves 5 more (then uses 9 too).
    Http.Answer second = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals("86", second.headers().get("x-ratelimit-remaining-tokens"));

    Http.Answer tooBig = Http.post(proxy.client, "/v1/chat/completions",
        "{\"model\":\"mock\",\"max_tokens\":90,\"messages\":[]}");
    assertEquals(429, tooBig.status());
    assertTrue(tooBig.error().getString("message").contains("tokens per minute for the gateway"),
        tooBig.error().getString("message"));
    assertEquals("100", tooBig.headers().get("x-ratelimit-limit-tokens"));
    assertEquals("82", tooBig.headers().get("x-ratelimit-remaining-tokens"));
    assertTrue(Long.parseLong(tooBig.headers().get("Retry-After")) >= 1);
    assertEquals(2, backend.completions());
  }

  @Test
  void aRequestWithoutMaxTokensReservesTheConfiguredDefault(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("default_completion_tokens", 40)
        .put("global", new JsonObject().put("tokens_per_minute", 1000)), new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"mock\",\"messages\":[]}");
    assertEquals(200, answer.status());
    assertEquals(Long.toString(1000 - 3 - 40), answer.headers().get("x-ratelimit-remaining-tokens"));
  }

  @Test
  void aKeysOwnTpmWinsOverPerKey(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      AuthCheck check = AuthCheck.fromJson(message.body());
      boolean tight = check.apiKey().equals("sk-tight-000000000");
      message.reply(new AuthDecision(true, 200, null, null, tight ? "tight" : "loose", null, null, null, null,
          null, tight ? 6L : null, null, 0).toJson());
    });
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("per_key", new JsonObject().put("tokens_per_minute", 100000)),
        new JsonObject().put("auth", new JsonObject().put("enabled", true)));
    Map<String, String> tight = Map.of("Authorization", "Bearer sk-tight-000000000");
    Map<String, String> loose = Map.of("Authorization", "Bearer sk-loose-000000000");
    Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", tight, CHAT);
    assertEquals(200, ok.status());
    assertEquals("6", ok.headers().get("x-ratelimit-limit-tokens"));
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", tight, CHAT);
    assertEquals(429, refused.status(), "9 tokens used of 6");
    assertTrue(refused.error().getString("message").contains("tokens per minute for this key"));
    Http.Answer other = Http.post(proxy.client, "/v1/chat/completions", loose, CHAT);
    assertEquals(200, other.status());
    assertEquals("100000", other.headers().get("x-ratelimit-limit-tokens"));
  }

  @Test
  void aJsonAnswerWithoutUsageIsEstimatedFromTheRequestAndTheChoicesAndSettledToThat(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("tokens_per_minute", 1000)),
        new JsonObject());
    Map<String, String> noUsage = Map.of("Content-Type", "application/json", "X-Mock-No-Usage", "1");
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", noUsage, CHAT).status());
    UsageRecord record = proxy.nextUsage();
    assertTrue(record.estimated());
    assertFalse(record.aborted());
    assertEquals(3, record.promptTokens());
    assertEquals(TokenCounter.count("tok tok "), record.completionTokens());
    assertEquals(record.promptTokens() + record.completionTokens(), record.totalTokens());

    Http.Answer next = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(Long.toString(1000 - record.totalTokens() - 5), next.headers().get("x-ratelimit-remaining-tokens"),
        "the reservation was settled to the estimate");
  }

  @Test
  void aStreamWithoutUsageIsEstimatedFromTheRelayedDeltas(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("requests_per_minute", 100)),
        new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Content-Type", "application/json", "X-Mock-No-Usage", "1"), CHAT_STREAM);
    assertEquals(200, answer.status());
    assertTrue(answer.text().contains("tok2 "), answer.text());
    UsageRecord record = proxy.nextUsage();
    assertTrue(record.estimated());
    assertFalse(record.aborted());
    assertEquals(prompt(CHAT_STREAM), record.promptTokens());
    assertEquals(TokenCounter.count("tok0 tok1 tok2 "), record.completionTokens());
  }

  @Test
  void aStreamTheClientAbandonsIsEstimatedFromWhatItReceived(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("tokens_per_minute", 100000)),
        new JsonObject());
    String body = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    Http.openStream(proxy.client, body, 100).abort();
    UsageRecord record = proxy.nextUsage();
    assertTrue(record.aborted());
    assertTrue(record.estimated());
    assertEquals(prompt(body), record.promptTokens());
    assertTrue(record.completionTokens() >= 1 && record.completionTokens() < 50, "counted " + record.completionTokens());
    // The reservation (prompt + 50) was settled down to the estimate.
    Http.Answer next = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(Long.toString(100000 - record.totalTokens() - 5), next.headers().get("x-ratelimit-remaining-tokens"));
  }

  @Test
  void limitsCombinedAllApplyAndTheTightestRefuses(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("requests_per_second", 50)
        .put("burst_size", 50).put("requests_per_minute", 4).put("tokens_per_minute", 100).put("max_concurrent", 10)),
        new JsonObject());
    for (int i = 0; i < 4; i++) {
      Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", CHAT);
      assertEquals(200, ok.status());
      assertEquals(Integer.toString(3 - i), ok.headers().get("x-ratelimit-remaining-requests"));
    }
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, refused.status());
    assertTrue(refused.error().getString("message").contains("requests per minute"));
    assertEquals(4, backend.completions());
  }

  @Test
  void aScriptSkipsLimitsForVipKeysAndGivesAModelItsOwnLimit(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      AuthCheck check = AuthCheck.fromJson(message.body());
      boolean vip = check.apiKey().equals("sk-vip-0000000000");
      message.reply(new AuthDecision(true, 200, null, null, vip ? "vip" : "plain", null, vip ? "vip" : "plain", null,
          new JsonObject().put("tier", vip ? "gold" : "free"), null, null, null, 0).toJson());
    });
    String script = """
        if request.metadata.tier == "gold" then return {skip = true} end
        if request.model == "big" then return {requests_per_minute = 1, bucket = "big"} end
        """;
    ProxyHarness proxy = proxy(vertx, new JsonObject()
            .put("script", new JsonObject().put("enabled", true).put("script", script))
            .put("per_key", new JsonObject().put("requests_per_minute", 3)),
        new JsonObject().put("auth", new JsonObject().put("enabled", true)));
    Map<String, String> vip = Map.of("Authorization", "Bearer sk-vip-0000000000");
    Map<String, String> plain = Map.of("Authorization", "Bearer sk-plain-00000000");
    for (int i = 0; i < 6; i++) {
      Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", vip, CHAT);
      assertEquals(200, ok.status());
      assertEquals(null, ok.headers().get("x-ratelimit-limit-requests"), "no limit applies to a skipped key");
    }
    String big = "{\"model\":\"big\",\"max_tokens\":2,\"messages\":[]}";
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", plain, big).status());
    Http.Answer bigRefused = Http.post(proxy.client, "/v1/chat/completions", plain, big);
    assertEquals(429, bigRefused.status());
    assertEquals("1", bigRefused.headers().get("x-ratelimit-limit-requests"));
    // The big model's count is its own: the key's 3 per minute are still there for the others.
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", plain, CHAT).status());
    }
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", plain, CHAT).status());
  }

  @Test
  void rejectionsAreCounted(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("global", new JsonObject().put("tokens_per_minute", 4)),
        new JsonObject());
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertTrue(Poll.until(Duration.ofSeconds(2), () -> proxy.environment.registry().scrape()
        .contains("llmproxy_ratelimit_rejections_total{limit=\"tokens_per_minute\",scope=\"global\"} 1.0")),
        proxy.environment.registry().scrape());
  }
}
