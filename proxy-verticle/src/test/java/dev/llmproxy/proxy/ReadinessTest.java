package dev.llmproxy.proxy;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code /ready} and seed 002's probe aliases, with passive health counted when no health_check block is set. */
@ExtendWith(VertxExtension.class)
class ReadinessTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  @RegisterExtension
  final MockBackends backends = new MockBackends();

  private static Http.Answer get(ProxyHarness proxy, String path) {
    return Http.call(proxy.client, HttpMethod.GET, path, Map.of(), null);
  }

  @Test
  void withoutHealthChecksTheOnlyBackendDownMeansNotReady(Vertx vertx) {
    MockLlmBackend backend = backends.start(vertx, 0);
    int port = backend.port();
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()),
        new JsonObject().put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false)))));
    Http.Answer ready = get(proxy, "/ready");
    assertEquals(200, ready.status(), ready.text());
    assertTrue(ready.json().getBoolean("ready"));

    backend.close();
    // Nothing has been sent since: the check itself finds that the backend does not accept connections.
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> get(proxy, "/ready").status() == 503));
    Http.Answer down = get(proxy, "/health/ready");
    assertEquals(503, down.status());
    assertEquals("no backend accepts connections", down.json().getString("status"), down.text());
    assertFalse(down.json().getBoolean("ready"));

    // Failed requests are passive evidence: the backend is ejected and said so.
    for (int i = 0; i < 3; i++) {
      assertEquals(502, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    Http.Answer ejected = get(proxy, "/ready");
    assertEquals(503, ejected.status());
    assertEquals("every backend is ejected or failing (passive health)", ejected.json().getString("status"));
    assertTrue(ejected.json().getJsonArray("backends").getJsonObject(0).getBoolean("ejected"), ejected.text());

    backends.start(vertx, port);
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> get(proxy, "/ready").status() == 200),
        "once its cooldown is over and it accepts connections again, the gateway is ready again");
  }

  /** Found by bench/soak.sh: clients that leave in the middle of streams are not the backend's failures. */
  @Test
  void clientsLeavingStreamsNeverEjectTheBackend(Vertx vertx) throws Exception {
    MockLlmBackend backend = backends.start(vertx, 0);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
    for (int i = 0; i < 4; i++) {
      Http.OpenStream stream = Http.openStream(proxy.client,
          "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":200,\"messages\":[]}", 50);
      stream.abort();
      proxy.nextUsage();
    }
    String metrics = get(proxy, "/metrics").text();
    assertFalse(metrics.contains("llmproxy_backend_ejections_total{backend=\"b0\"} 1.0"), metrics);
    assertEquals(200, get(proxy, "/ready").status());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
  }

  @Test
  void withActiveHealthChecksAnAnsweringBackendIsNotProbed(Vertx vertx) {
    MockLlmBackend backend = backends.start(vertx, 0);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()),
        new JsonObject().put("health_check", new JsonObject().put("interval", "1h"))));
    Http.Answer ready = get(proxy, "/health/ready");
    assertEquals(200, ready.status(), ready.text());
    assertTrue(ready.json().getBoolean("active_health_checks"));
    assertFalse(ready.json().containsKey("probed"), ready.text());
    JsonObject first = ready.json().getJsonArray("backends").getJsonObject(0);
    assertEquals("b0", first.getString("name"));
    assertFalse(ready.text().contains(backend.baseUrl()), "backend addresses stay private: " + ready.text());
    Http.Answer live = get(proxy, "/health/live");
    assertEquals(200, live.status());
    assertTrue(live.json().getBoolean("live"), live.text());
  }

  @Test
  void aModelWhoseEveryBackendIsUnhealthyIs503NotModelNotFound(Vertx vertx) {
    MockLlmBackend backend = backends.start(vertx, 0);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends",
        new JsonArray().add(new JsonObject().put("name", "llama").put("url", backend.baseUrl())
            .put("models", new JsonArray().add("llama-3"))))));
    List<Backend> down = proxy.config.backends().stream()
        .map(b -> Backend.of(b, proxy.config.routing(), false)).toList();
    proxy.publish(new BackendSnapshot(2, down));
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> get(proxy, "/ready").status() == 503));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"llama-3\",\"messages\":[]}");
    assertEquals(503, answer.status(), answer.text());
    assertEquals("no_backend_available", answer.error().getString("code"));
    Http.Answer unknown = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[]}");
    assertEquals(404, unknown.status());
    assertEquals("model_not_found", unknown.error().getString("code"));
  }
}
