package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code metrics.custom_labels}: the caller on the per-request series, never the key itself. */
@ExtendWith(VertxExtension.class)
class CustomMetricLabelsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";
  private static final String NAMED = "sk-named-key-0123451111";
  private static final String UNNAMED = "sk-unnamed-key-012345678";
  private static final String UNKNOWN = "sk-unknown-key-0123459999";

  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      String key = message.body().getString("api_key");
      AuthDecision decision = switch (key) {
        case NAMED -> new AuthDecision(true, 200, null, null, "id-1", "static", "Team key", "user_7", null, null, null,
            null, 0);
        case UNNAMED -> new AuthDecision(true, 200, null, null, "id-2", "static", null, "user_8", null, null, null,
            null, 0);
        default -> AuthDecision.deny(401, "invalid_api_key", "Invalid API Key");
      };
      message.reply(decision.toJson());
    });
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private ProxyHarness proxy(Vertx vertx, JsonArray customLabels) {
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("metrics", new JsonObject().put("custom_labels", customLabels))));
  }

  @Test
  void userAndKeyNameOrMaskedKeyLabelTheRequestSeries(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonArray().add("user_id").add("api_key"));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer " + NAMED), CHAT)
        .status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer " + UNNAMED), CHAT)
        .status());
    assertEquals(401, Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer " + UNKNOWN), CHAT)
        .status());

    String text = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    assertTrue(text.contains("llmproxy_requests_total{api_key=\"Team key\",backend=\"b0\",model=\"mock\",path=\"/v1/chat/completions\","
        + "status=\"200\",stream=\"false\",user_id=\"user_7\"} 1.0"), text);
    assertTrue(text.contains("llmproxy_requests_total{api_key=\"sk-...5678\",backend=\"b0\",model=\"mock\",path=\"/v1/chat/completions\","
        + "status=\"200\",stream=\"false\",user_id=\"user_8\"} 1.0"), text);
    assertTrue(text.contains("llmproxy_latency_ms_count{api_key=\"Team key\",user_id=\"user_7\"} 1"), text);
    assertTrue(text.contains("llmproxy_usage_tokens_total{api_key=\"sk-...5678\",model=\"mock\",type=\"prompt\",user_id=\"user_8\"}"),
        text);
    assertTrue(text.contains("llmproxy_requests_total{api_key=\"\",backend=\"none\",model=\"mock\",path=\"/v1/chat/completions\","
        + "status=\"401\",stream=\"false\",user_id=\"\"} 1.0"), "a refused key labels nothing: " + text);
    for (String key : List.of(NAMED, UNNAMED, UNKNOWN)) {
      assertFalse(text.contains(key.substring(3)), "no key in /metrics: " + key);
    }
    assertFalse(text.contains("sk-...9999"), "a refused key makes no series of its own");
  }

  @Test
  void onlyTheConfiguredKnownLabelsAreAdded(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonArray().add("user_id").add("team"));
    Http.post(proxy.client, "/v1/chat/completions", Map.of("Authorization", "Bearer " + NAMED), CHAT);
    String text = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    assertTrue(text.contains("llmproxy_requests_total{backend=\"b0\",model=\"mock\",path=\"/v1/chat/completions\","
        + "status=\"200\",stream=\"false\",user_id=\"user_7\"} 1.0"), text);
    assertFalse(text.contains("api_key="), text);
    assertFalse(text.contains("team="), text);
  }
}
