package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Seed 002's {@code providers[]}: read, validated, keys from the environment, made backends of the router. */
class ProviderConfigTest {

  private static final String KEY = "sk-ant-secret-value-9876";

  private static JsonObject seed002() {
    return new JsonObject().put("providers", new JsonArray()
        .add(new JsonObject().put("name", "openai").put("type", "openai").put("base_url", "https://api.openai.com/v1")
            .put("api_key_env", "OPENAI_API_KEY").put("models", new JsonArray().add("gpt-4")).put("enabled", true)
            .put("priority", 1).put("timeout", 30).put("max_connections", 100)
            .put("fallback_provider", "anthropic"))
        .add(new JsonObject().put("name", "anthropic").put("type", "anthropic").put("base_url", "https://api.anthropic.com")
            .put("api_key_env", "ANTHROPIC_API_KEY").put("models", new JsonArray().add("claude-3-haiku"))
            .put("priority", 2))
        .add(new JsonObject().put("name", "google-gemini").put("type", "openai_compatible")
            .put("base_url", "https://example.test/v1").put("enabled", false).put("priority", 3)));
  }

  @Test
  void seed002sProvidersBecomeBackendsWithTheirDialectPriorityAndKeyFromTheEnvironment() {
    LoadedConfig loaded = ConfigLoader.parse(seed002(),
        Map.of("OPENAI_API_KEY", "sk-openai-1234", "ANTHROPIC_API_KEY", KEY));
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    assertTrue(loaded.warnings().isEmpty(), String.join("\n", loaded.warnings()));
    List<BackendConfig> routed = loaded.config().routedBackends();
    assertEquals(2, routed.size(), "a disabled provider is no backend");
    BackendConfig openai = routed.get(0);
    assertEquals("https://api.openai.com", openai.url(), "the gateway appends /v1/... itself");
    assertEquals("openai", openai.provider());
    assertEquals("sk-openai-1234", openai.apiKey());
    assertEquals(1, openai.priority());
    assertEquals("anthropic", openai.fallback());
    assertEquals(Duration.ofSeconds(30), openai.timeout());
    assertEquals(100, openai.maxConnections());
    BackendConfig anthropic = routed.get(1);
    assertEquals("anthropic", anthropic.provider());
    assertEquals(KEY, anthropic.apiKey());
    assertEquals(List.of("claude-3-haiku"), anthropic.models());

    // The canonical form (what crosses the bus on a reload) keeps the key, so the round trip is whole.
    GatewayConfig again = GatewayConfig.fromJson(loaded.config().toJson());
    assertEquals(loaded.config().routedBackends(), again.routedBackends());
  }

  @Test
  void aMissingKeyVariableIsAnErrorNamingTheProviderAndNeverShowsAKey() {
    LoadedConfig loaded = ConfigLoader.parse(seed002(), Map.of("OPENAI_API_KEY", "sk-openai-1234"));
    assertFalse(loaded.ok());
    assertEquals(List.of("providers[1].api_key_env: the environment variable ANTHROPIC_API_KEY is not set "
        + "(provider anthropic)"), loaded.errors());
    assertFalse(String.join("\n", loaded.errors()).contains("sk-openai-1234"));
  }

  @Test
  void anUnknownTypeIsRefusedWithTheListOfTypes() {
    JsonObject raw = new JsonObject().put("providers", new JsonArray()
        .add(new JsonObject().put("name", "g").put("type", "google").put("api_key_env", "G")));
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of("G", "x"));
    assertEquals(List.of("providers[0].type: unknown provider type 'google'; must be one of openai, anthropic, "
        + "azure_openai, openai_compatible"), loaded.errors());
  }

  @Test
  void referencesAndPerProviderRetriesAreChecked() {
    JsonObject raw = new JsonObject()
        .put("backends", new JsonArray().add(new JsonObject().put("name", "local").put("url", "http://127.0.0.1:8080")
            .put("provider", "anthropic").put("api_key", KEY)))
        .put("providers", new JsonArray()
            .add(new JsonObject().put("name", "local").put("type", "openai_compatible").put("base_url", "http://h:1"))
            .add(new JsonObject().put("name", "o").put("type", "openai").put("api_key", "k")
                .put("fallback_provider", "nowhere").put("max_retries", 3))
            .add(new JsonObject().put("name", "az").put("type", "azure_openai")
                .put("base_url", "https://res.openai.azure.com").put("api_key", "k")
                .put("deployments", new JsonObject().put("gpt-4o", "my-gpt4o"))));
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    assertEquals(List.of("providers[0].name: duplicate name \"local\"",
        "providers[1].fallback_provider: 'nowhere' is not another provider or backend"), loaded.errors());
    assertEquals(List.of("providers[1].retry_attempts: not supported per provider; routing.retry applies to every backend"),
        loaded.warnings());
  }

  @Test
  void azureKeepsItsDeploymentsAndApiVersionAndABackendMaySpeakAnthropic() {
    JsonObject raw = new JsonObject()
        .put("backends", new JsonArray().add(new JsonObject().put("url", "http://127.0.0.1:8080")
            .put("provider", "anthropic").put("api_key", KEY)))
        .put("providers", new JsonArray().add(new JsonObject().put("name", "az").put("type", "azure_openai")
            .put("base_url", "https://res.openai.azure.com").put("api_key_env", "AZ")
            .put("deployments", new JsonObject().put("gpt-4o", "my-gpt4o"))));
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of("AZ", "az-key"));
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    BackendConfig backend = loaded.config().routedBackends().get(0);
    assertEquals("anthropic", backend.provider());
    assertEquals(KEY, backend.apiKey());
    BackendConfig azure = loaded.config().routedBackends().get(1);
    assertEquals("azure_openai", azure.provider());
    assertEquals(Map.of("gpt-4o", "my-gpt4o"), azure.deployments());
    assertEquals("2024-10-21", azure.apiVersion());
    assertNull(loaded.config().backends().get(0).fallback());
    JsonObject badDialect = new JsonObject().put("backends", new JsonArray().add(new JsonObject()
        .put("url", "http://127.0.0.1:8080").put("provider", "gemini")));
    assertEquals(List.of("backends[0].provider: must be one of openai, openai_chat, anthropic, azure_openai"),
        ConfigLoader.parse(badDialect, Map.of()).errors());
  }
}
