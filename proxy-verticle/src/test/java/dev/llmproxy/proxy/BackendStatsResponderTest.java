package dev.llmproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code llmproxy.backends.stats}: the proxy reports what it has seen of each backend. */
@ExtendWith(VertxExtension.class)
class BackendStatsResponderTest {

  @Test
  void aBackendThatServedARequestIsReportedWithItsLatency(Vertx vertx) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, 0));
    try {
      JsonObject overrides = new JsonObject().put("backends", new JsonArray()
          .add(new JsonObject().put("name", "mock").put("url", backend.baseUrl())));
      ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
      Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"m\",\"messages\":[]}");
      assertEquals(200, answer.status());

      JsonObject report = Http.await(vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_STATS, new JsonObject()))
          .body();
      JsonArray backends = report.getJsonArray("backends");
      assertEquals(1, backends.size(), report.encode());
      JsonObject seen = backends.getJsonObject(0);
      assertEquals("mock", seen.getString("name"));
      assertEquals(backend.baseUrl(), seen.getString("url"));
      assertEquals(0, seen.getInteger("in_flight"));
      assertTrue(seen.getDouble("latency_ms") >= 0, report.encode());
      assertFalse(seen.getBoolean("ejected"));
      assertTrue(seen.getBoolean("healthy"));
      assertTrue(seen.getBoolean("up"));
    } finally {
      backend.close();
    }
  }
}
