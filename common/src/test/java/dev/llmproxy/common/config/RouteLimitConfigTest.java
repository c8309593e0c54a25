package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Seed 002's {@code rate_limit.routes}: read, normalised, and every entry that cannot be a limit named by path. */
class RouteLimitConfigTest {

  private static LoadedConfig load(String routes) {
    return TestConfigs.loadYaml("""
        backends:
          - url: http://127.0.0.1:9
        rate_limit:
          enabled: true
          routes:
        """ + routes);
  }

  @Test
  void seed002sExampleIsReadWithoutAWarningAndEveryFormWorks() {
    LoadedConfig loaded = load("""
            "/v1/chat/completions": "500/minute"
            "/v1/embeddings": "1000/minute"
            "/v1/messages": "5/second"
            "/v1/responses": "100 per hour"
            "/v1/completions/": "2000/d"
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(), loaded.warnings(), "no unknown-field warning any more");
    List<RouteLimitConfig> routes = loaded.config().rateLimit().routes();
    assertEquals(List.of(
        new RouteLimitConfig("/v1/chat/completions", 500, RouteLimitConfig.Per.MINUTE),
        new RouteLimitConfig("/v1/embeddings", 1000, RouteLimitConfig.Per.MINUTE),
        new RouteLimitConfig("/v1/messages", 5, RouteLimitConfig.Per.SECOND),
        new RouteLimitConfig("/v1/responses", 100, RouteLimitConfig.Per.HOUR),
        new RouteLimitConfig("/v1/completions", 2000, RouteLimitConfig.Per.DAY)), routes);
    assertEquals("1000/minute", loaded.config().rateLimit().toJson().getJsonObject("routes")
        .getString("/v1/embeddings"), "/admin/config shows them");
  }

  @Test
  void badRatesZeroNegativeAndPathsThatAreNotApiRoutesAreErrorsByPath() {
    LoadedConfig loaded = load("""
            "/v1/a": "1000"
            "/v1/b": "1000/fortnight"
            "/v1/c": "0/minute"
            "/v1/d": "-5/minute"
            "/v1/e": 1000
            "/v1/f": {requests: 5}
            "/v1/g": "99999999999999999999999/minute"
            "/health": "5/second"
            "/admin/keys": "5/second"
            "v1/embeddings": "5/second"
            "/v1/../admin/x": "5/second"
            "/v1/models?x=1": "5/second"
            "/v1/*": "5/second"
            "/v1/": "5/second"
            "/v1/embeddings": "5/second"
            "/v1/EMBEDDINGS/": "9/second"
        """);
    assertFalse(loaded.ok());
    String errors = String.join("\n", loaded.errors());
    for (String path : List.of("/v1/a", "/v1/b", "/v1/c", "/v1/d", "/v1/e", "/v1/f", "/v1/g", "/health",
        "/admin/keys", "v1/embeddings", "/v1/../admin/x", "/v1/models?x=1", "/v1/*", "/v1/", "/v1/EMBEDDINGS/")) {
      assertTrue(errors.contains("rate_limit.routes." + path + ": "), "no error for " + path + " in\n" + errors);
    }
    assertTrue(errors.contains("rate_limit.routes./v1/a: not a rate (\"1000\"); write N/second, N/minute, N/hour or"
        + " N/day"), errors);
    assertTrue(errors.contains("rate_limit.routes./v1/c: must allow at least 1 request per minute"), errors);
    assertTrue(errors.contains("rate_limit.routes./v1/d: must allow at least 1 request per minute"), errors);
    assertTrue(errors.contains("rate_limit.routes./v1/g: too large a rate"), errors);
    assertTrue(errors.contains("rate_limit.routes./health: not an API route of the gateway"), errors);
    assertTrue(errors.contains("rate_limit.routes./v1/../admin/x: never matches, because the gateway refuses such"
        + " request paths"), errors);
    assertTrue(errors.contains("rate_limit.routes./v1/EMBEDDINGS/: the same route as \"/v1/embeddings\""), errors);
    assertFalse(errors.contains("rate_limit.routes./v1/embeddings:"), errors);
    assertEquals(15, loaded.errors().size(), errors);
  }

  @Test
  void routesAloneSwitchLimitingOnWithAWarningAndEnabledFalseSwitchesThemOff() {
    LoadedConfig implicit = TestConfigs.loadYaml("""
        backends:
          - url: http://127.0.0.1:9
        rate_limit:
          routes: {"/v1/embeddings": "1000/minute"}
        """);
    assertTrue(implicit.ok(), implicit.errors()::toString);
    assertTrue(implicit.config().rateLimit().enabled());
    assertEquals(List.of("rate_limit.enabled: not set; rate limiting is on because rate_limit.routes sets limits"
        + " (write enabled: true to say so, or enabled: false to switch them off)"), implicit.warnings());

    LoadedConfig off = TestConfigs.loadYaml("""
        backends:
          - url: http://127.0.0.1:9
        rate_limit:
          enabled: false
          routes: {"/v1/embeddings": "1000/minute"}
        """);
    assertTrue(off.ok(), off.errors()::toString);
    assertFalse(off.config().rateLimit().enabled(), "an explicit enabled: false wins, as for global and per_key");
  }

  @Test
  void routesThatAreNotAMappingAreAnError() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        backends:
          - url: http://127.0.0.1:9
        rate_limit:
          enabled: true
          routes: ["/v1/embeddings"]
        """);
    assertEquals(List.of("rate_limit.routes: must be a mapping"), loaded.errors());
  }
}
