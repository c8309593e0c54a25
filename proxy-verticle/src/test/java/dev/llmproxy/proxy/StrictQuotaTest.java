package dev.llmproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code auth.quota_enforcement: strict} in the proxy, the test answering as the auth verticle would: a cached
 * decision's quota left is not trusted as it was read (what the proxy relayed since is taken off it), and a key's
 * TPM room cuts a stream as its quota does. The whole gateway's case is {@code GatewayStrictQuotaTest}.
 */
@ExtendWith(VertxExtension.class)
class StrictQuotaTest {

  private static final String STREAM = "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}";
  private static final Map<String, String> KEY = Map.of("Authorization", "Bearer sk-strict-000000000",
      "X-Mock-Chunks", "300", "X-Mock-Interval-Ms", "2");

  private MockLlmBackend backend;
  private final AtomicInteger asked = new AtomicInteger();
  private volatile AuthDecision answer;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      asked.incrementAndGet();
      message.reply(answer.toJson());
    });
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private static AuthDecision decision(Long tpm, Long remainingQuota) {
    return new AuthDecision(true, 200, null, null, "id-strict", "static", "Strict", "user_1", null, null, tpm, null,
        60_000, remainingQuota);
  }

  private static long prompt() {
    return RateLimitTokensTest.prompt(STREAM);
  }

  @Test
  void aCachedDecisionsQuotaLeftLosesWhatWasRelayedSinceSoTheNextRequestIsRefused(Vertx vertx) throws Exception {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true).put("quota_enforcement", "strict"))));
    answer = decision(null, 50L);
    Http.Answer cut = Http.post(proxy.client, "/v1/chat/completions", KEY, STREAM);
    assertEquals(200, cut.status());
    String body = cut.body().toString();
    assertTrue(body.contains("\"finish_reason\":\"length\""), body);
    assertTrue(body.contains("\"code\":\"quota_exceeded\""), body);
    assertTrue(body.endsWith("data: [DONE]\n\n"), body);

    UsageRecord record = proxy.nextUsage();
    assertEquals("quota_exceeded", record.cutOff());
    assertTrue(record.estimated(), "what was relayed, counted: the backend's report never came");
    assertFalse(record.aborted(), "a clean end, not a broken stream");
    assertEquals(prompt(), record.promptTokens());
    assertTrue(record.totalTokens() >= 50 && record.totalTokens() < 50 + 4, "cut within a chunk of the quota: " + record);
    assertEquals(1, asked.get());

    // The decision (50 left) is still cached for a minute; what was relayed since is taken off: nothing is left.
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", KEY, STREAM);
    assertEquals(429, refused.status(), refused.body().toString());
    assertEquals("quota_exceeded", refused.error().getString("code"));
    assertEquals(1, asked.get(), "answered from the cached decision");
    assertEquals(1, backend.received().size(), "the refused request never reached the backend");
  }

  @Test
  void theKeysTpmRoomCutsAStreamToo(Vertx vertx) throws Exception {
    ProxyHarness proxy = ProxyHarness.withRateLimit(vertx, backend.baseUrl(),
        // A request without max_tokens reserves 5 completion tokens; the backend goes on far beyond them.
        new JsonObject().put("default_completion_tokens", 5)
            .put("per_key", new JsonObject().put("tokens_per_minute", 100_000)),
        new JsonObject().put("auth", new JsonObject().put("enabled", true).put("quota_enforcement", "strict")));
    answer = decision(40L, null);
    Http.Answer cut = Http.post(proxy.client, "/v1/chat/completions", KEY, STREAM);
    assertEquals(200, cut.status());
    assertTrue(cut.body().toString().contains("\"code\":\"quota_exceeded\""), cut.body().toString());
    UsageRecord record = proxy.nextUsage();
    assertEquals("quota_exceeded", record.cutOff());
    assertTrue(record.totalTokens() >= 40 && record.totalTokens() < 40 + 4, "cut at the TPM room: " + record);
  }

  @Test
  void settleLeavesTheStreamAloneWhateverTheQuotaLeft(Vertx vertx) throws Exception {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))));
    answer = decision(null, 10L);
    Http.Answer whole = Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer sk-strict-000000000", "X-Mock-Chunks", "40"), STREAM);
    assertEquals(200, whole.status());
    assertFalse(whole.body().toString().contains("quota_exceeded"));
    UsageRecord record = proxy.nextUsage();
    assertNull(record.cutOff());
    assertEquals(40, record.completionTokens());
  }
}
