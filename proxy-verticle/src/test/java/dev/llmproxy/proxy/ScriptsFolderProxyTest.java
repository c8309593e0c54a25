package dev.llmproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The proxy's scripts of the top-level {@code scripts/} folder, each loaded by path from the config block that uses
 * it and run once on a real port: {@code routing.lua}, {@code ratelimit.lua}, {@code access_filter.lua}, and seed
 * 001's {@code scripts:} section with {@code request.lua}, {@code response.lua}, {@code error.lua} (read as the
 * hooks {@code on_request}, {@code on_response}, {@code on_error}).
 */
@ExtendWith(VertxExtension.class)
class ScriptsFolderProxyTest {

  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String VIP = "sk-vip-user-key-1111";
  private static final String PLAIN = "sk-plain-user-key-2222";

  private CapturedLog accessLog;
  private MockLlmBackend backend;
  private MockLlmBackend other;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    other = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      boolean vip = VIP.equals(message.body().getString("api_key"));
      message.reply(new AuthDecision(true, 200, null, null, vip ? "id-vip" : "id-plain", "static",
          vip ? "VIP" : "Plain", vip ? "vip_1" : "user_2", null, null, null, null, 0).toJson());
    });
    accessLog = CapturedLog.attach(AccessLog.LOGGER_NAME);
  }

  @AfterEach
  void stop() {
    accessLog.detach();
    backend.close();
    other.close();
  }

  private static JsonObject script(String file) {
    return new JsonObject().put("enabled", true).put("path", "../scripts/" + file);
  }

  /** Seed 001's section as it wrote it: its transforms are read as the hooks. */
  private static final JsonObject SEED_001_SCRIPTS = new JsonObject().put("enabled", true)
      .put("request_transform", script("request.lua"))
      .put("response_transform", script("response.lua"))
      .put("error_handler", script("error.lua"));

  @Test
  void routingLuaSendsARequestToTheBackendItsHeaderNames(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl(), other.baseUrl()),
        new JsonObject().put("routing", new JsonObject().put("script", script("routing.lua")))));
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions",
          Map.of("Content-Type", "application/json", "X-Backend", "b1"), CHAT).status());
    }
    assertEquals(0, backend.completions(), "round robin would have sent one of three to b0");
    assertEquals(3, other.completions());
  }

  @Test
  void ratelimitLuaLetsVipUsersPastTheirKeysLimit(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("rate_limit", new JsonObject().put("enabled", true).put("script", script("ratelimit.lua"))
            .put("global", new JsonObject().put("enabled", false))
            .put("per_key", new JsonObject().put("enabled", true).put("requests_per_minute", 1)
                .put("requests_per_second", 0).put("burst_size", 1)))));
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions",
          Map.of("Authorization", "Bearer " + VIP), CHAT).status(), "vip_ users are not limited");
    }
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer " + PLAIN), CHAT).status());
    assertEquals(429, Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer " + PLAIN), CHAT).status(), "the others get the key's one a minute");
  }

  @Test
  void accessFilterLuaLeavesMetricsScrapesOut(Vertx vertx) throws InterruptedException {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("metrics", new JsonObject().put("enabled", true))
        .put("logging", new JsonObject().put("enabled", true)
            .put("access", new JsonObject().put("enabled", true).put("script", script("access_filter.lua"))))));
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    accessLog.await("POST /v1/chat/completions");
    assertEquals(1, accessLog.lines().size(), "the scrape left no line: " + accessLog.lines());
  }

  @Test
  void seed001ScriptsSectionRunsRequestAndResponseLuaAsTheHooks(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()),
        new JsonObject().put("scripts", SEED_001_SCRIPTS.copy())));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(200, answer.status());
    MockLlmBackend.Received seen = backend.received().stream().filter(r -> r.uri().startsWith("/v1/chat"))
        .findFirst().orElseThrow();
    assertEquals("llmproxy", seen.headers().get("X-Gateway"), "request.lua is on_request: its header reached the backend");
    assertEquals(256, seen.json().getInteger("max_tokens"), "request.lua's default max_tokens was sent");
    assertEquals(backend.baseUrl(), answer.headers().get("X-Served-By"), "response.lua is on_response");
    assertTrue(answer.headers().get("X-Gateway-Latency-Ms").matches("[0-9]+"), answer.headers().toString());
  }

  @Test
  void seed001ScriptsSectionRunsErrorLuaAsOnError(Vertx vertx) {
    ProxyHarness unreachable = Http.await(ProxyHarness.start(vertx,
        List.of("http://127.0.0.1:" + ProxyHarness.freePort()), new JsonObject().put("scripts", SEED_001_SCRIPTS.copy())
            .put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false)))));
    Http.Answer down = Http.post(unreachable.client, "/v1/chat/completions", CHAT);
    assertEquals(503, down.status(), "error.lua is on_error: the gateway's 502 became a 503");
    assertTrue(down.body().toJsonObject().getJsonObject("error").getString("message")
        .startsWith("the service is briefly unavailable, retry in a moment (the backend could not be reached"),
        down.body().toString());
  }
}
