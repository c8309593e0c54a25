package dev.llmproxy.common.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code auth.skip_paths} matching, and what validate says about skip_paths and metrics.custom_labels. */
class OpenPathsConfigTest {

  private static AuthConfig skipping(String... paths) {
    return TestConfigs.loadYaml("auth:\n  skip_paths: [" + String.join(", ", List.of(paths).stream()
        .map(p -> "\"" + p + "\"").toList()) + "]\n").config().auth();
  }

  @Test
  void anEntryIsAWholePathNeverAPrefixOfASegment() {
    AuthConfig auth = skipping("/v1/models", "/health");
    assertTrue(auth.skips("/v1/models"));
    assertTrue(auth.skips("/v1/models/"));
    assertTrue(auth.skips("/health"));
    assertFalse(auth.skips("/v1/modelsX"));
    assertFalse(auth.skips("/v1/models/x"));
    assertFalse(auth.skips("/v1/models//"));
    assertFalse(auth.skips("/V1/models"), "paths are case-sensitive");
    assertFalse(auth.skips("/healthz"));
    assertFalse(auth.skips("/metrics"));
  }

  @Test
  void anEntryEndingInASlashCoversWholeSegmentsBelowIt() {
    AuthConfig auth = skipping("/v1/public/");
    assertTrue(auth.skips("/v1/public/x"));
    assertTrue(auth.skips("/v1/public/x/y"));
    assertTrue(auth.skips("/v1/public/"));
    assertTrue(auth.skips("/v1/public"));
    assertFalse(auth.skips("/v1/publicx"));
    assertFalse(auth.skips("/v1/publi"));
  }

  @Test
  void theDefaultListIsTheSeeds() {
    AuthConfig auth = GatewayConfig.defaults().auth();
    assertTrue(auth.skips("/health") && auth.skips("/ready") && auth.skips("/metrics"));
    assertFalse(auth.skips("/admin/keys/list"));
  }

  @Test
  void entriesThatCanNeverMatchAreWarnedAbout() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        auth:
          skip_paths: ["/health", "health", "/v1/models;x", "/v1/%2e%2e/x"]
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(
        "auth.skip_paths[1]: never matches, because the gateway refuses such request paths: the path must start with '/'",
        "auth.skip_paths[2]: never matches, because the gateway refuses such request paths: the path must not contain"
            + " ';' parameters",
        "auth.skip_paths[3]: never matches, because the gateway refuses such request paths: the path must not"
            + " percent-encode letters, digits or '.', '-', '_', '~'"), loaded.warnings());
  }

  @Test
  void anAdminApiThatOnlyBuiltinKeysCouldOpenIsWarnedAbout() {
    String config = """
        admin:
          enabled: true
          token: "t"
        auth:
          enabled: true
          %s
          pipeline:
            - name: builtin_auth
              type: builtin
        """;
    assertEquals(List.of("auth.skip_paths: \"/admin/\" is not listed, so the admin API on the main port needs an API"
            + " key besides X-Admin-Token; with only builtin keys the first key cannot be created through it: list"
            + " \"/admin/\" or give admin its own listen"),
        TestConfigs.loadYaml(config.formatted("")).warnings());
    assertEquals(List.of(), TestConfigs.loadYaml(config.formatted(
        "skip_paths: [\"/health\", \"/ready\", \"/metrics\", \"/admin/\"]")).warnings());
  }

  @Test
  void customLabelsWarnAboutCardinalityAndUnknownNames() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        metrics:
          custom_labels: ["user_id", "team", "api_key"]
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of("metrics.custom_labels[1]: 'team' is not used: the known labels are user_id, api_key",
        "metrics.custom_labels: user_id/api_key make one series per user or key on llmproxy_requests_total,"
            + " llmproxy_latency_ms (a histogram) and llmproxy_usage_tokens_total; with many keys that is a large"
            + " /metrics and Prometheus load"), loaded.warnings());
    assertEquals(List.of(), TestConfigs.loadYaml("metrics:\n  custom_labels: []\n").warnings());
  }
}
