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

  @Test
  void flowControlIsReadAndItsBadValuesAreNamedByPath() {
    LoadedConfig ok = load(new JsonObject().put("flow_control", new JsonObject().put("enabled", true)
        .put("max_in_flight", 4).put("max_wait", "5s")));
    assertTrue(ok.ok(), ok.errors()::toString);
    FlowControlConfig flow = ok.config().routing().flowControl();
    assertEquals(List.of(true, 4, 2, 0.9, "X-Priority", 1000, java.time.Duration.ofSeconds(5)), List.of(flow.enabled(),
        flow.maxInFlight(), flow.maxWaiting(), flow.maxKvCache(), flow.priorityHeader(), flow.maxQueue(), flow.maxWait()));
    LoadedConfig bad = load(new JsonObject().put("flow_control", new JsonObject().put("max_in_flight", -1)
        .put("max_waiting", 0).put("max_kv_cache", 1.5).put("priority_header", "").put("max_queue", 0)
        .put("max_wait", "0s").put("max_wiat", "1s")));
    assertFalse(bad.ok());
    for (String field : List.of("max_in_flight", "max_waiting", "max_kv_cache", "priority_header", "max_queue", "max_wait")) {
      assertTrue(bad.errors().stream().anyMatch(e -> e.startsWith("routing.flow_control." + field + ":")), field + " " + bad.errors());
    }
    assertTrue(bad.warnings().stream().anyMatch(w -> w.contains("routing.flow_control.max_wiat")) 
        || bad.errors().stream().anyMatch(e -> e.contains("routing.flow_control.max_wiat")), bad.warnings()::toString);
  }

  @Test
  void maxWaitingZeroNeedsACapacityForBackendsThatDoNotReportTheirSlots() {
    LoadedConfig freeSlot = load(new JsonObject().put("flow_control", new JsonObject().put("enabled", true)
        .put("max_waiting", 0).put("max_in_flight", 2)));
    assertTrue(freeSlot.ok(), freeSlot.errors()::toString);
    assertEquals(0, freeSlot.config().routing().flowControl().maxWaiting());
    LoadedConfig noCapacity = load(new JsonObject().put("flow_control", new JsonObject().put("enabled", true)
        .put("max_waiting", 0)));
    assertFalse(noCapacity.ok());
    assertTrue(noCapacity.errors().stream().anyMatch(e -> e.startsWith("routing.flow_control.max_waiting:")
        && e.contains("max_in_flight")), noCapacity.errors()::toString);
    LoadedConfig negative = load(new JsonObject().put("flow_control", new JsonObject().put("max_waiting", -1)
        .put("max_in_flight", 2)));
    assertTrue(negative.errors().stream().anyMatch(e -> e.startsWith("routing.flow_control.max_waiting:")),
        negative.errors()::toString);
  }

  @Test
  void prefixAwareIsReadAndItsBadValuesAreNamedByPath() {
    LoadedConfig ok = load(new JsonObject().put("load_balance", "prefix_aware")
        .put("prefix_aware", new JsonObject().put("prefix_chars", 4000).put("load_factor", 2)));
    assertTrue(ok.ok(), ok.errors()::toString);
    assertEquals(new PrefixAwareConfig(4000, 2.0), ok.config().routing().prefixAware());
    assertTrue(ok.warnings().stream().noneMatch(w -> w.startsWith("routing.")), ok.warnings()::toString);
    assertEquals(PrefixAwareConfig.DEFAULT, load(new JsonObject().put("load_balance", "prefix_aware")).config().routing()
        .prefixAware());
    LoadedConfig bad = load(new JsonObject().put("load_balance", "prefix_aware")
        .put("prefix_aware", new JsonObject().put("prefix_chars", 0).put("load_factor", 0.5).put("prefix_tokens", 10)));
    assertFalse(bad.ok());
    assertTrue(bad.errors().contains("routing.prefix_aware.prefix_chars: must be from 1 to 1048576"), bad.errors()::toString);
    assertTrue(bad.errors().contains("routing.prefix_aware.load_factor: must be a number >= 1"), bad.errors()::toString);
    assertTrue(bad.warnings().stream().anyMatch(w -> w.startsWith("routing.prefix_aware.prefix_tokens: unknown field")),
        bad.warnings()::toString);
    assertTrue(load(new JsonObject().put("load_balance", "prefix_aware").put("prefix_aware",
        new JsonObject().put("load_factor", "much"))).errors().stream()
        .anyMatch(e -> e.startsWith("routing.prefix_aware.load_factor: not a number")));
    // Settings for a strategy that is not in use are named, not silently ignored.
    LoadedConfig unused = load(new JsonObject().put("load_balance", "least_connections")
        .put("prefix_aware", new JsonObject().put("load_factor", 2)));
    assertTrue(unused.ok(), unused.errors()::toString);
    assertTrue(unused.warnings().contains("routing.prefix_aware: is not used unless routing.load_balance is prefix_aware"),
        unused.warnings()::toString);
  }
}
