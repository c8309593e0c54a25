package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code routing.enabled: false} turns load balancing, retry and failover off, and validate says what it leaves unused. */
class RoutingSwitchedOffTest {

  private static final String BECAUSE = "is not used because routing.enabled is false (requests go round robin, tried once)";

  private static LoadedConfig load(JsonObject routing) {
    JsonObject raw = new JsonObject()
        .put("backends", new JsonArray().add(new JsonObject().put("url", "http://127.0.0.1:9001")))
        .put("routing", routing);
    return ConfigLoader.parse(raw, Map.of());
  }

  @Test
  void everyRoutingFeatureLeftUnusedIsNamedByPath() {
    LoadedConfig loaded = load(new JsonObject().put("enabled", false).put("load_balance", "least_connections")
        .put("script", new JsonObject().put("enabled", true).put("script", "return nil"))
        .put("fallback", new JsonArray().add(new JsonObject().put("primary", "http://127.0.0.1:9001")
            .put("fallback", new JsonArray().add("http://127.0.0.1:9002"))))
        .put("affinity", new JsonObject().put("enabled", true)));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(
        "routing.load_balance: least_connections " + BECAUSE,
        "routing.script: " + BECAUSE,
        "routing.retry: " + BECAUSE,
        "routing.fallback: " + BECAUSE,
        "routing.affinity: " + BECAUSE), loaded.warnings().stream().filter(w -> w.startsWith("routing.")).toList());
  }

  @Test
  void whatTheProxyAppliesHasTheFeaturesOff() {
    RoutingConfig off = load(new JsonObject().put("enabled", false).put("load_balance", "random").put("timeout", "7s")
        .put("fallback", new JsonArray().add(new JsonObject().put("primary", "http://127.0.0.1:9001").put("fallback", new JsonArray().add("http://127.0.0.1:9002")))))
        .config().routing().inEffect();
    assertEquals("round_robin", off.loadBalance());
    assertFalse(off.retry().enabled());
    assertTrue(off.fallback().isEmpty());
    assertFalse(off.script().enabled());
    assertFalse(off.affinity().enabled());
    assertEquals(java.time.Duration.ofSeconds(7), off.timeout(), "backend timeouts still come from routing");
  }

  @Test
  void anEnabledSectionIsAppliedAsWrittenWithoutWarnings() {
    LoadedConfig loaded = load(new JsonObject().put("load_balance", "random"));
    RoutingConfig routing = loaded.config().routing();
    assertEquals(routing, routing.inEffect());
    assertTrue(loaded.warnings().stream().noneMatch(w -> w.startsWith("routing.")), loaded.warnings()::toString);
  }
}
