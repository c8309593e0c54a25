package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code fault_injection} against real mock backends: injected faults meet the gateway's retries, fallback, passive
 * ejection and usage estimates as the backends' own failures would, and never touch the gateway's own endpoints.
 */
@ExtendWith(VertxExtension.class)
class FaultInjectionTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  @RegisterExtension
  final MockBackends backends = new MockBackends();

  private static ProxyHarness proxy(Vertx vertx, JsonArray backends, JsonObject routing, JsonObject... faults) {
    JsonArray list = new JsonArray();
    for (JsonObject fault : faults) {
      list.add(fault);
    }
    return Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends", backends)
        .put("routing", routing)
        .put("fault_injection", new JsonObject().put("enabled", true).put("faults", list))));
  }

  private static String metrics(ProxyHarness proxy) {
    return Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
  }

  @Test
  void anAbortOnOneBackendIsRetriedOnTheOtherAndEjectsIt(Vertx vertx) {
    MockLlmBackend a = backends.start(vertx);
    MockLlmBackend b = backends.start(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("a", a)).add(MockBackends.entry("b", b)),
        new JsonObject().put("retry", new JsonObject().put("initial_wait", "10ms")),
        new JsonObject().put("name", "a-down").put("backends", new JsonArray().add("a"))
            .put("abort", new JsonObject().put("status", 503).put("percentage", 100)));
    for (int i = 0; i < 6; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    assertEquals(0, a.completions(), "an aborted attempt never reaches its backend");
    assertEquals(6, b.completions());
    String metrics = metrics(proxy);
    assertTrue(metrics.contains("llmproxy_retries_total{backend=\"a\",reason=\"503\"} 3.0"), metrics);
    assertTrue(metrics.contains("llmproxy_backend_ejections_total{backend=\"a\"} 1.0"), metrics);
    assertTrue(metrics.contains("llmproxy_faults_injected_total{fault=\"a-down\",kind=\"abort\"} 3.0"),
        "ejected after three injected failures, so three aborts: " + metrics);
  }

  @Test
  void withNothingLeftToTryTheClientGetsTheFaultsStatusInItsDialect(Vertx vertx) {
    MockLlmBackend only = backends.start(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("only", only)),
        new JsonObject().put("retry", new JsonObject().put("enabled", false)),
        new JsonObject().put("abort", new JsonObject().put("status", 429)));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(429, answer.status());
    assertEquals("fault_injected", answer.error().getString("code"));
    Http.Answer anthropic = Http.post(proxy.client, "/v1/messages",
        "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}");
    assertEquals(429, anthropic.status());
    assertEquals("error", anthropic.json().getString("type"), anthropic.text());
    assertEquals(0, only.completions());
  }

  @Test
  void aFallbackChainIsFollowedPastAnAbortedPrimary(Vertx vertx) {
    MockLlmBackend primary = backends.start(vertx);
    MockLlmBackend second = backends.start(vertx);
    JsonObject chain = new JsonObject().put("models", new JsonArray().add("chained"))
        .put("primary", primary.baseUrl()).put("fallback", new JsonArray().add(second.baseUrl()));
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("primary", primary)).add(MockBackends.entry("second", second)),
        new JsonObject().put("fallback", new JsonArray().add(chain)).put("retry", new JsonObject().put("initial_wait", "10ms")),
        new JsonObject().put("models", new JsonArray().add("chained")).put("backends", new JsonArray().add("primary"))
            .put("abort", new JsonObject().put("status", 502)));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"chained\",\"messages\":[]}").status());
    assertEquals(0, primary.completions());
    assertEquals(1, second.completions());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status(), "another model is not faulted");
  }

  @Test
  void aCutStreamEndsOnAnErrorFrameAndItsUsageIsEstimated(Vertx vertx) throws Exception {
    MockLlmBackend backend = backends.start(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("b", backend)), new JsonObject(),
        new JsonObject().put("name", "cut").put("paths", new JsonArray().add("/v1/chat/completions"))
            .put("stream_cut_after", 3));
    String text = Http.joined(Http.streamArrivals(proxy.client, "/v1/chat/completions",
        "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        Map.of("Content-Type", "application/json", "X-Mock-Interval-Ms", "5")));
    assertTrue(text.contains("\"error\""), "the client learns the stream broke: " + text);
    assertFalse(text.contains("[DONE]"), text);
    UsageRecord usage = proxy.nextUsage();
    assertTrue(usage.estimated(), "the backend's usage never came: the record is an estimate");
    assertTrue(usage.aborted());
    assertTrue(usage.promptTokens() > 0, "prompt counted by the gateway");
    assertTrue(metrics(proxy).contains("llmproxy_faults_injected_total{fault=\"cut\",kind=\"stream_cut\"} 1.0"));
  }

  @Test
  void aDelayHoldsOnlyTheMatchingRequestsAndNeverTheGatewaysOwnEndpoints(Vertx vertx) {
    MockLlmBackend backend = backends.start(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("b", backend)), new JsonObject(),
        new JsonObject().put("name", "slow").put("models", new JsonArray().add("slow-model"))
            .put("delay", new JsonObject().put("fixed", "400ms").put("percentage", 100)),
        new JsonObject().put("name", "everything").put("abort", new JsonObject().put("status", 500).put("percentage", 0)));
    long start = System.nanoTime();
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"slow-model\",\"messages\":[]}").status());
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(tookMs >= 400, "delayed by " + tookMs + " ms, less than the fault's 400 ms");
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null).status());
    String metrics = metrics(proxy);
    assertTrue(metrics.contains("llmproxy_faults_injected_total{fault=\"slow\",kind=\"delay\"} 1.0"), metrics);
    assertFalse(metrics.contains("kind=\"abort\""), "a 0% abort never fires: " + metrics);
  }

  @Test
  void anAbortOnEveryPathLeavesHealthReadyAndMetricsAlone(Vertx vertx) {
    MockLlmBackend backend = backends.start(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(MockBackends.entry("b", backend)),
        new JsonObject().put("retry", new JsonObject().put("enabled", false)),
        new JsonObject().put("abort", new JsonObject().put("status", 500)));
    assertEquals(500, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null).status());
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).status());
  }
}
