package dev.llmproxy.common.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultInjectionConfigTest {

  @Test
  void offByDefaultAndSilent() {
    LoadedConfig loaded = TestConfigs.loadYaml("backends:\n  - url: http://127.0.0.1:8001\n");
    assertTrue(loaded.ok(), loaded.errors().toString());
    assertFalse(loaded.config().faultInjection().active());
    assertTrue(loaded.warnings().stream().noneMatch(w -> w.startsWith("fault_injection")), loaded.warnings().toString());
  }

  @Test
  void readWhenOnAndWarnedAboutLoudly() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        backends:
          - {name: a, url: "http://127.0.0.1:8001"}
        fault_injection:
          enabled: true
          faults:
            - name: flaky
              paths: ["/v1/chat/completions"]
              models: [llama]
              backends: [a]
              delay: {fixed: 250ms, percentage: 10}
              abort: {status: 503, percentage: 50}
              stream_cut_after: 3
        """);
    assertTrue(loaded.ok(), loaded.errors().toString());
    FaultConfig fault = loaded.config().faultInjection().faults().get(0);
    assertEquals(Duration.ofMillis(250), fault.delay().fixed());
    assertEquals(10, fault.delay().percentage());
    assertEquals(503, fault.abort().status());
    assertEquals(3, fault.streamCutAfter());
    assertTrue(loaded.warnings().stream().anyMatch(w -> w.startsWith("fault_injection.enabled: ON: faults are injected")
        && w.contains("abort 503 on 50.0%")), loaded.warnings().toString());
    // The canonical form reads back to the same config (hot reload and /admin/config use it).
    assertEquals(loaded.config(), GatewayConfig.fromJson(loaded.config().toJson()));
  }

  @Test
  void outOfRangeValuesAndTheGatewaysOwnPathsAreRefusedByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        backends:
          - url: "http://127.0.0.1:8001"
        fault_injection:
          enabled: true
          faults:
            - paths: ["/admin/keys", "/health", "v1/chat"]
              delay: {fixed: 1s, percentage: 150}
              abort: {status: 700, percentage: -1}
              stream_cut_after: -2
        """);
    assertFalse(loaded.ok());
    String errors = String.join("\n", loaded.errors());
    for (String path : new String[] {"fault_injection.faults[0].paths[0]", "fault_injection.faults[0].paths[1]",
        "fault_injection.faults[0].paths[2]: must start with /", "fault_injection.faults[0].delay.percentage",
        "fault_injection.faults[0].abort.status", "fault_injection.faults[0].abort.percentage",
        "fault_injection.faults[0].stream_cut_after"}) {
      assertTrue(errors.contains(path), path + " not in:\n" + errors);
    }
  }
}
