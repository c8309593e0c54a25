package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvTest {

  @Test
  void substitutesVariablesAndDefaultsEverywhere() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          listen: "${HOST:-0.0.0.0}:${PORT}"
          max_body_size: "${BODY:-1024}"
        backends:
          - url: "http://${BACKEND_HOST}:8080/v1"
            headers:
              Authorization: "Bearer ${TOKEN:-none}"
        admin:
          enabled: "${ADMIN_ON:-false}"
        """, Map.of("PORT", "9000", "BACKEND_HOST", "gpu-1", "TOKEN", ""));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig c = loaded.config();
    assertEquals("0.0.0.0:9000", c.server().listen());
    assertEquals(1024L, c.server().maxBodySize());
    assertEquals("http://gpu-1:8080/v1", c.backends().get(0).url());
    assertEquals("Bearer none", c.backends().get(0).headers().get("Authorization"));
    assertFalse(c.admin().enabled());
  }

  @Test
  void missingVariableIsAnErrorNamingPathAndVariable() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          databases:
            - name: primary
              driver: mysql
              host: db
              password: "${DB_PASSWORD}"
        """, Map.of());
    assertFalse(loaded.ok());
    assertNull(loaded.config());
    assertEquals(List.of("storage.databases[0].password: environment variable DB_PASSWORD is not set"),
        loaded.errors());
  }

  @Test
  void stringsAreAcceptedForTypedFields() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          max_header_bytes: "8000"
        routing:
          retry:
            multiplier: "1.5"
            enabled: "false"
          timeout: "90"
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(8000, loaded.config().server().maxHeaderBytes());
    assertEquals(1.5, loaded.config().routing().retry().multiplier());
    assertFalse(loaded.config().routing().retry().enabled());
    assertEquals(Duration.ofSeconds(90), loaded.config().routing().timeout());
  }

  @Test
  void llmproxyVariablesOverrideSingleFields() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          listen: ":8000"
        admin:
          enabled: true
          token: from-file
        """, Map.of(
        "LLMPROXY_SERVER_LISTEN", "127.0.0.1:9000",
        "LLMPROXY_SERVER_MAX_BODY_SIZE", "2048",
        "LLMPROXY_ROUTING_RETRY_MAX_RETRIES", "5",
        "LLMPROXY_ADMIN_TOKEN", "from-env",
        "LLMPROXY_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1",
        "LLMPROXY_AUTH_STATUS_CODES_NOT_FOUND_HTTP_CODE", "403",
        "LLMPROXY_HEALTH_CHECK_INTERVAL", "10s"));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig c = loaded.config();
    assertEquals("127.0.0.1:9000", c.server().listen());
    assertEquals(2048L, c.server().maxBodySize());
    assertEquals(5, c.routing().retry().maxRetries());
    assertEquals("from-env", c.admin().token());
    assertEquals(List.of("10.0.0.0/8", "127.0.0.1"), c.server().trustedProxies());
    assertEquals(403, c.auth().statusCode("not_found").httpCode());
    assertEquals(Duration.ofSeconds(10), c.healthCheck().interval());
    assertEquals(List.of(), loaded.warnings());
  }

  @Test
  void unknownLlmproxyVariableIsAWarning() {
    LoadedConfig loaded = ConfigLoader.parse(new io.vertx.core.json.JsonObject(),
        Map.of("LLMPROXY_SERVER_LISEN", "x", "LLMPROXY_BACKENDS", "x", "LLMPROXY_CONFIG", "conf/config.yaml",
            "PATH", "/bin"));
    assertTrue(loaded.ok());
    assertEquals(List.of("LLMPROXY_BACKENDS: names no config field", "LLMPROXY_SERVER_LISEN: names no config field"),
        loaded.warnings());
  }

  @Test
  void overrideWithBadValueIsAnErrorAtTheFieldPath() {
    LoadedConfig loaded = ConfigLoader.parse(new io.vertx.core.json.JsonObject(),
        Map.of("LLMPROXY_ROUTING_RETRY_MAX_RETRIES", "many"));
    assertEquals(List.of("routing.retry.max_retries: not an integer (\"many\")"), loaded.errors());
  }
}
