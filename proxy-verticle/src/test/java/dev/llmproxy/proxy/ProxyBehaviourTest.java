package dev.llmproxy.proxy;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routes, error shapes, headers and the gateway's own endpoints, each on a real port. */
@ExtendWith(VertxExtension.class)
class ProxyBehaviourTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private Vertx vertx;
  private MockLlmBackend backend;
  private ProxyHarness proxy;

  @BeforeEach
  void start(Vertx vertx) {
    this.vertx = vertx;
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    JsonObject overrides = new JsonObject()
        .put("server", new JsonObject().put("max_body_size", 2048).put("max_header_bytes", 4096))
        .put("backends", new io.vertx.core.json.JsonArray().add(new JsonObject().put("name", "mock")
            .put("url", backend.baseUrl()).put("headers", new JsonObject().put("X-Backend-ID", "backend-1"))));
    proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  @Test
  void invalidJsonIs400InOpenAiShape() {
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\": ");
    assertEquals(400, answer.status());
    assertEquals("invalid_json", answer.error().getString("code"));
    assertEquals("application/json", answer.headers().get("Content-Type"));
    assertTrue(backend.received().isEmpty());
  }

  @Test
  void aJsonBodyThatIsNotAnObjectIs400() {
    assertEquals(400, Http.post(proxy.client, "/v1/embeddings", "[1,2]").status());
    assertEquals(400, Http.post(proxy.client, "/v1/completions", "").status());

    assertEquals(400, Http.post(proxy.client, "/v1/chat/completions", "{\"model\":1}").status());
    assertEquals(400, Http.post(proxy.client, "/v1/chat/completions", "{} {}").status());
  }

  @Test
  void unknownPathOutsideTheApiIs404() {
    Http.Answer answer = Http.call(proxy.client, HttpMethod.GET, "/v2/whatever", Map.of(), null);
    assertEquals(404, answer.status());
    assertEquals("not_found", answer.error().getString("code"));
  }

  @Test
  void wrongMethodIs405WithAllow() {
    Http.Answer get = Http.call(proxy.client, HttpMethod.GET, "/v1/chat/completions", Map.of(), null);
    assertEquals(405, get.status());
    assertEquals("POST", get.headers().get("Allow"));
    assertEquals("method_not_allowed", get.error().getString("code"));
    assertEquals(405, Http.post(proxy.client, "/v1/models", "{}").status());
  }

  @Test
  void bodyOverTheLimitIs413WhetherDeclaredOrChunked() {
    String big = "{\"model\":\"mock\",\"pad\":\"" + "x".repeat(4096) + "\"}";
    Http.Answer declared = Http.post(proxy.client, "/v1/chat/completions", big);
    assertEquals(413, declared.status());
    assertEquals("request_too_large", declared.error().getString("code"));

    Http.Answer chunked = Http.call(proxy.client, HttpMethod.POST, "/v1/chat/completions",
        Map.of("Transfer-Encoding", "chunked"), big);
    assertEquals(413, chunked.status());
    assertTrue(backend.received().isEmpty());
  }

  @Test
  void dotSegmentsThatCouldDodgeSkipPathsAreRefused() {
    for (String path : List.of("/v1/models/../chat/completions", "/v1/models/%2e%2e/chat/completions",
        "/v1/./chat/completions", "/v1/models/..%2Fchat")) {
      Http.Answer answer = Http.call(proxy.client, HttpMethod.POST, path, Map.of(), CHAT);
      assertEquals(400, answer.status(), path);
      assertEquals("invalid_request", answer.error().getString("code"));
    }
    assertTrue(backend.received().isEmpty());
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/v1/files/report.v2.json", Map.of(), null).status(),
        "dots inside a segment are fine");
  }

  @Test
  void headersOverTheLimitAre431InOpenAiShape() {
    Http.Answer answer = Http.call(proxy.client, HttpMethod.GET, "/health", Map.of("X-Big", "a".repeat(8192)), null);
    assertEquals(431, answer.status());
    assertEquals("request_header_fields_too_large", answer.error().getString("code"));
  }

  @Test
  void noUsableBackendIs503() {
    proxy.publish(new BackendSnapshot(2, List.of()));
    assertTrue(Poll.until(Duration.ofSeconds(5),
        () -> Http.call(proxy.client, HttpMethod.GET, "/ready", Map.of(), null).status() == 503));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(503, answer.status());
    assertEquals("no_backend_available", answer.error().getString("code"));
  }

  @Test
  void unreachableBackendIs502() {
    int closedPort = ProxyHarness.freePort();
    // Its own Vert.x: the event bus of this test's proxy already has a discovery stand-in.
    Vertx isolated = Vertx.vertx();
    try {
      ProxyHarness dead = Http.await(ProxyHarness.start(isolated, List.of("http://127.0.0.1:" + closedPort), new JsonObject()));
      Http.Answer answer = Http.post(dead.client, "/v1/chat/completions", CHAT);
      assertEquals(502, answer.status());
      assertEquals("upstream_unreachable", answer.error().getString("code"));
    } finally {
      Http.await(isolated.close());
    }
  }

  @Test
  void backendErrorsPassThroughWithTheirStatusAndBody() {
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Mock-Status", "429"), CHAT);
    assertEquals(429, answer.status());
    assertEquals("mock failure 429", answer.json().getJsonObject("error").getString("message"),
        "the backend's own body reaches the client untouched");
  }

  @Test
  void requestIdIsKeptSentOnAndReturned() throws Exception {
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Request-ID", "trace-42"), CHAT);
    assertEquals("trace-42", answer.headers().get("X-Request-ID"));
    assertEquals("trace-42", backend.received().get(0).headers().get("X-Request-ID"));
    assertEquals("trace-42", proxy.nextUsage().requestId());

    Http.Answer generated = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    String id = generated.headers().get("X-Request-ID");
    assertNotNull(id);
    assertEquals(id, backend.received().get(1).headers().get("X-Request-ID"));
    assertEquals(id, proxy.nextUsage().requestId());
  }

  @Test
  void hopByHopHeadersStayOnTheirConnectionAndForwardingHeadersAreAdded() {
    Http.post(proxy.client, "/v1/chat/completions", Map.of(
        "Connection", "keep-alive, X-Private-Hop",
        "X-Private-Hop", "secret",
        "Keep-Alive", "timeout=5",
        "Proxy-Authorization", "Basic abc",
        "X-Custom", "kept",
        "X-Forwarded-For", "203.0.113.9"), CHAT);
    MultiMap seen = backend.received().get(0).headers();
    assertNull(seen.get("X-Private-Hop"));
    assertNull(seen.get("Keep-Alive"));
    assertNull(seen.get("Proxy-Authorization"));
    assertEquals("kept", seen.get("X-Custom"));
    assertEquals("203.0.113.9, 127.0.0.1", seen.get("X-Forwarded-For"));
    assertEquals("http", seen.get("X-Forwarded-Proto"));
    assertEquals("backend-1", seen.get("X-Backend-ID"), "backends[].headers are added");
  }

  @Test
  void otherApiPathsPassThroughWithMethodQueryAndBody() {
    Http.Answer rerank = Http.call(proxy.client, HttpMethod.POST, "/v1/rerank?top_n=3&x=a%20b",
        Map.of("Content-Type", "text/plain"), "not json at all");
    assertEquals(200, rerank.status());
    JsonObject echoed = rerank.json();
    assertEquals("POST", echoed.getString("method"));
    assertEquals("/v1/rerank", echoed.getString("path"));
    assertEquals("top_n=3&x=a%20b", echoed.getString("query"));
    assertEquals("not json at all", echoed.getString("body"));

    Http.Answer delete = Http.call(proxy.client, HttpMethod.DELETE, "/v1/files/file-1", Map.of(), null);
    assertEquals("DELETE", delete.json().getString("method"));
    assertEquals("/v1/files/file-1", delete.json().getString("path"));
  }

  @Test
  void modelsAreForwardedToABackend() {
    Http.Answer models = Http.call(proxy.client, HttpMethod.GET, "/v1/models", Map.of(), null);
    assertEquals(200, models.status());
    assertEquals("list", models.json().getString("object"));
  }

  @Test
  void healthReadyAndMetrics() {
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null).status());
    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/ready", Map.of(), null).status());
    Http.post(proxy.client, "/v1/chat/completions", CHAT);
    Http.post(proxy.client, "/v1/chat/completions",
        "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":2,\"stream_options\":{\"include_usage\":true}}");
    Http.Answer metrics = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null);
    assertEquals(200, metrics.status());
    String text = metrics.text();
    assertTrue(text.contains("llmproxy_requests_total{backend=\"mock\",model=\"mock\",path=\"/v1/chat/completions\",status=\"200\",stream=\"false\"} 1.0"), text);
    assertTrue(text.contains("llmproxy_ttft_ms_count 1"), text);
    assertTrue(text.contains("llmproxy_latency_ms_bucket{le=\"10.0\"}"), "latency buckets from metrics.latency_buckets, in ms");
    assertTrue(text.contains("llmproxy_request_duration_seconds_bucket{model=\"mock\",le=\"0.01\"}"),
        "and in seconds, as given: " + text);
    assertTrue(text.contains("llmproxy_ttft_seconds_count{model=\"mock\"} 1"), text);
    assertTrue(text.contains("llmproxy_usage_tokens_total{model=\"mock\",type=\"completion\"} 4.0"), text);
    assertTrue(text.contains("llmproxy_usage_tokens_total{model=\"mock\",type=\"prompt\"} 14.0"), text);
  }

  @Test
  void readyIs503UntilTheGatewayHasStarted() {
    proxy.environment.markDraining();
    Http.Answer ready = Http.call(proxy.client, HttpMethod.GET, "/ready", Map.of(), null);
    assertEquals(503, ready.status());
  }
}
