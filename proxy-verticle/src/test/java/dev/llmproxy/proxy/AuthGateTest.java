package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The proxy's side of llmproxy.auth.check; the test answers as the auth verticle would. */
@ExtendWith(VertxExtension.class)
class AuthGateTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private MockLlmBackend backend;
  private ProxyHarness proxy;
  private final List<AuthCheck> asked = new CopyOnWriteArrayList<>();
  private volatile AuthDecision answer;
  private volatile boolean failing;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      asked.add(AuthCheck.fromJson(message.body()));
      if (failing) {
        message.fail(500, "provider down");
      } else {
        message.reply(answer.toJson());
      }
    });
    JsonObject overrides = new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("server", new JsonObject().put("trusted_proxies", new JsonArray().add("127.0.0.0/8")));
    proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
    answer = allow(0);
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private static AuthDecision allow(long cacheTtlMs) {
    return new AuthDecision(true, 200, null, null, "id-1", "static", "Team key", "user_7", null, null, null, null, cacheTtlMs);
  }

  @Test
  void aRequestWithoutKeyIsRefusedWithTheNotFoundStatus() {
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(401, refused.status());
    assertEquals("invalid_api_key", refused.error().getString("code"));
    assertEquals(0, backend.received().size());
  }

  @Test
  void anAllowedKeyIsAskedAboutForwardedWithoutItAndMetered() throws Exception {
    Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer sk-live-123456789", "X-Forwarded-For", "198.51.100.7"), CHAT);
    assertEquals(200, ok.status());
    AuthCheck check = asked.get(0);
    assertEquals("sk-live-123456789", check.apiKey());
    assertEquals("mock", check.model());
    assertEquals("/v1/chat/completions", check.path());
    assertEquals("198.51.100.7", check.clientIp(), "the peer is a trusted proxy: the client is the forwarded address");
    assertNull(backend.received().get(0).headers().get("Authorization"), "the client's key is not the backend's");

    UsageRecord usage = proxy.nextUsage();
    assertEquals("sk-live-123456789", usage.apiKey());
    assertEquals("Team key", usage.keyName());
    assertEquals("user_7", usage.userId());
    assertEquals("198.51.100.7", usage.clientIp());
  }

  /**
   * An unauthenticated client chooses the key it sends: one over the bound is refused before it is hashed, asked
   * about or cached (a few hundred ~1 MB keys once filled the decision cache and the heap).
   */
  @Test
  void anOverlongKeyIsRefusedWithoutBeingAskedAboutOrCached() {
    answer = allow(60_000); // an auth verticle that would allow and let it be cached
    String atTheBound = "k".repeat(dev.llmproxy.proxy.auth.AuthGate.MAX_KEY_LENGTH);
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer " + atTheBound),
        CHAT).status());
    assertEquals(1, asked.size());
    for (int i = 0; i < 3; i++) {
      String overlong = Integer.toString(i).repeat(dev.llmproxy.proxy.auth.AuthGate.MAX_KEY_LENGTH + 1);
      Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions", Map.of("X-API-Key", overlong), CHAT);
      assertEquals(401, refused.status());
      assertEquals("invalid_api_key", refused.error().getString("code"));
      assertEquals("the API key is longer than 1024 characters", refused.error().getString("message"));
    }
    assertEquals(1, asked.size(), "no over-long key reached the auth verticle");
    assertEquals(1, backend.received().size());
  }

  @Test
  void theKeyMayComeInXApiKey() {
    Http.post(proxy.client, "/v1/chat/completions", Map.of("X-API-Key", "sk-other-abcdefgh"), CHAT);
    assertEquals("sk-other-abcdefgh", asked.get(0).apiKey());
  }

  @Test
  void aDenialReachesTheClientWithItsStatusCodeAndMessage() {
    answer = AuthDecision.deny(403, "key_disabled", "API Key is disabled");
    Http.Answer denied = Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer sk-x-0000000000"), CHAT);
    assertEquals(403, denied.status());
    assertEquals("key_disabled", denied.error().getString("code"));
    assertEquals("API Key is disabled", denied.error().getString("message"));
    assertEquals(0, backend.received().size());
  }

  @Test
  void anAuthVerticleThatCannotAnswerGives503NotALetThrough() {
    failing = true;
    Http.Answer unavailable = Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer sk-x-0000000000"), CHAT);
    assertEquals(503, unavailable.status());
    assertEquals("auth_unavailable", unavailable.error().getString("code"));
    assertEquals(0, backend.received().size());
    String metrics = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    assertTrue(metrics.contains("llmproxy_auth_unavailable_total 1.0"), "counted for LLMProxyAuthUnavailable: " + metrics);
  }

  @Test
  void decisionsAreReusedForTheirTtlAndDroppedWhenKeysChange() {
    answer = allow(60_000);
    Map<String, String> key = Map.of("Authorization", "Bearer sk-cached-000000");
    Http.post(proxy.client, "/v1/chat/completions", key, CHAT);
    Http.post(proxy.client, "/v1/chat/completions", key, CHAT);
    assertEquals(1, asked.size(), "the second request used the cached decision");

    proxy.vertx.eventBus().publish(Addresses.KEYS_CHANGED, new JsonObject().put("all", true));
    answer = AuthDecision.deny(401, "invalid_api_key", "Invalid API Key");
    // The publication and the next request travel different paths; the proxy must see the drop first.
    dev.llmproxy.testsupport.Poll.until(java.time.Duration.ofSeconds(5),
        () -> Http.post(proxy.client, "/v1/chat/completions", key, CHAT).status() == 401);
    assertEquals(401, Http.post(proxy.client, "/v1/chat/completions", key, CHAT).status());
  }

  @Test
  void skipPathsNeedNoKey() {
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null).status());
    assertEquals(0, asked.size());
  }
}
