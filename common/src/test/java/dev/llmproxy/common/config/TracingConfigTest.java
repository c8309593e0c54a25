package dev.llmproxy.common.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TracingConfigTest {

  @Test
  void offByDefaultWithTheIssuesDefaults() {
    TracingConfig tracing = GatewayConfig.defaults().tracing();
    assertEquals(new TracingConfig(false, "otlp", "http://127.0.0.1:4318", 1.0, "llmproxy"), tracing);
    assertEquals("http://127.0.0.1:4318/v1/traces", tracing.tracesUrl());
  }

  @Test
  void sectionIsReadAndSurvivesTheCanonicalForm() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        tracing:
          enabled: true
          endpoint: "http://collector:4318/"
          sample_rate: 0.25
          service_name: "edge"
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(), loaded.warnings());
    TracingConfig tracing = loaded.config().tracing();
    assertEquals(new TracingConfig(true, "otlp", "http://collector:4318/", 0.25, "edge"), tracing);
    assertEquals("http://collector:4318/v1/traces", tracing.tracesUrl());
    assertEquals(loaded.config(), GatewayConfig.fromJson(loaded.config().toJson()));
  }

  @Test
  void errorsAreReportedByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        tracing:
          enabled: true
          exporter: zipkin
          endpoint: "collector:4318"
          sample_rate: 1.5
          service_name: ""
        """);
    assertFalse(loaded.ok());
    assertEquals(List.of(
        "tracing.exporter: must be one of otlp",
        "tracing.sample_rate: must be between 0 and 1",
        "tracing.service_name: must not be empty",
        "tracing.endpoint: not an http(s) URL"), loaded.errors());
  }
}
