package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import dev.llmproxy.proxy.balance.Router;
import dev.llmproxy.proxy.metrics.FlowMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What flow control costs a request when nothing is saturated: the look at each serving backend's figures (issue 20
 * asks for at most 5 µs at p50). Measured here, printed, and held to a bound a loaded CI machine keeps.
 */
@ExtendWith(VertxExtension.class)
class FlowControlCostTest {

  @Test
  void theCheckWhenNothingIsSaturatedIsCheap(Vertx vertx) {
    measure(vertx, new JsonObject().put("enabled", true).put("max_in_flight", 8), "max_waiting 2");
  }

  @Test
  void theFreeSlotCheckWhenNothingIsSaturatedIsCheap(Vertx vertx) {
    measure(vertx, new JsonObject().put("enabled", true).put("max_in_flight", 8).put("max_waiting", 0), "max_waiting 0");
  }

  private static void measure(Vertx vertx, JsonObject flowControl, String mode) {
    JsonObject raw = new JsonObject().put("backends", new JsonArray()
            .add(new JsonObject().put("name", "a").put("url", "http://127.0.0.1:9001"))
            .add(new JsonObject().put("name", "b").put("url", "http://127.0.0.1:9002"))
            .add(new JsonObject().put("name", "c").put("url", "http://127.0.0.1:9003")))
        .put("routing", new JsonObject().put("flow_control", flowControl));
    GatewayConfig config = ConfigLoader.parse(raw, Map.of()).config();
    List<Backend> backends = config.backends().stream().map(b -> Backend.of(b, config.routing(), true)).toList();
    BackendStatsRegistry stats = new BackendStatsRegistry(new SimpleMeterRegistry());
    Router router = new Router(config.routing(), stats);
    router.update(new BackendSnapshot(1, backends));
    FlowGate gate = new FlowGate();
    FlowControlStep step = new FlowControlStep(vertx, config.routing().flowControl(), router, stats,
        new FlowMetrics(new SimpleMeterRegistry()), gate);
    String[] tenants = new String[16];
    for (int t = 0; t < tenants.length; t++) {
      tenants[t] = "k:sk-tenant-" + t;
    }
    int batch = 1000;
    int batches = 2000;
    long[] perCallNanos = new long[batches];
    boolean any = false;
    for (int round = 0; round < 2; round++) { // the first round warms the JIT
      for (int i = 0; i < batches; i++) {
        long start = System.nanoTime();
        for (int j = 0; j < batch; j++) {
          // What a request pays when nothing waits: the look at the figures and its tenant's fair-share tag.
          any |= !gate.idle() || step.room("mock", start) <= 0;
          gate.queue.sentDirectly(tenants[j & 15]);
        }
        perCallNanos[i] = (System.nanoTime() - start) / batch;
      }
    }
    assertFalse(any);
    Arrays.sort(perCallNanos);
    long p50 = perCallNanos[batches / 2];
    long p99 = perCallNanos[batches * 99 / 100];
    System.out.println("flow control check (" + mode + "), 3 backends, nothing saturated: p50 " + p50 + " ns, p99 " + p99 + " ns per request");
    assertTrue(p50 < 50_000, "p50 " + p50 + " ns");
  }
}
