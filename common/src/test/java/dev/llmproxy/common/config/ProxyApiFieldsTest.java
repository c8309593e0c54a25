package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seed 002's {@code model_overrides}, {@code caching}, {@code condensation} and {@code .env}, as the loader reads them. */
class ProxyApiFieldsTest {

  /** Seed 002's comprehensive example's sections, as written there. */
  private static final String SEED_002 = """
      model_overrides:
        "gpt-4-turbo":
          max_tokens: 8192
          temperature: 0.8
          presence_penalty: 0.1
      caching:
        enabled: true
        response_cache:
          max_size_mb: 256
          ttl: 3600 # 1 hour
        summary_cache:
          max_size_mb: 128
          ttl: 86400 # 24 hours
      condensation:
        max_tokens_default: 512
        error_keywords: ["context_length_exceeded", "maximum context length"]
        adaptive_factor: 0.5
        cache_ttl: 300
      """;

  @Test
  void seed002sSectionsAreReadAndWhatHasNoEffectIsWarnedByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml(SEED_002);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig c = loaded.config();
    assertEquals(8192, c.modelOverrides().valueFor("gpt-4-turbo", "max_tokens"));
    assertEquals(0.8, c.modelOverrides().valueFor("gpt-4-turbo", "temperature"));
    assertNull(c.modelOverrides().valueFor("other", "max_tokens"));
    assertTrue(c.caching().responseCacheOn());
    assertEquals(256, c.caching().responseCache().maxSizeMb());
    assertEquals(Duration.ofHours(1), c.caching().responseCache().ttl());
    assertTrue(c.caching().responseCache().inMemory());
    assertFalse(c.caching().responseCache().shared());
    assertFalse(c.condensation().enabled());
    assertEquals(0.5, c.condensation().dropFraction());
    String warnings = String.join("\n", loaded.warnings());
    assertTrue(warnings.contains("caching.summary_cache: not supported"), warnings);
    assertTrue(warnings.contains("condensation.max_tokens_default: not supported"), warnings);
    assertTrue(warnings.contains("condensation.cache_ttl: not supported"), warnings);
    assertFalse(warnings.contains("unknown field"), warnings);
  }

  @Test
  void theCanonicalFormReadsBackTheSame() {
    GatewayConfig c = TestConfigs.loadYaml(SEED_002).config();
    assertEquals(c, GatewayConfig.fromJson(c.toJson()));
  }

  @Test
  void theClientsValueWinsOverAnOverride() {
    ModelOverrides overrides = TestConfigs.loadYaml(SEED_002).config().modelOverrides();
    JsonObject filled = overrides.fill("gpt-4-turbo", new JsonObject().put("model", "gpt-4-turbo")
        .put("temperature", 0.1).put("max_tokens", null));
    assertEquals(0.1, filled.getValue("temperature"));
    assertEquals(8192, filled.getValue("max_tokens"));
    assertEquals(0.1, filled.getValue("presence_penalty"));
    JsonObject untouched = new JsonObject().put("model", "other");
    assertTrue(overrides.fill("other", untouched) == untouched);
  }

  @Test
  void badValuesAreErrorsByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        model_overrides:
          tiny: 5
          big:
            stream: true
        caching:
          enabled: true
          response_cache:
            max_size_mb: 0
            ttl: 0
            storage: nowhere
        condensation:
          enabled: true
          adaptive_factor: 1.5
        """);
    assertFalse(loaded.ok());
    String errors = String.join("\n", loaded.errors());
    assertTrue(errors.contains("model_overrides.tiny: must be a mapping"), errors);
    assertTrue(errors.contains("model_overrides.big.stream: cannot be overridden"), errors);
    assertTrue(errors.contains("caching.response_cache.max_size_mb"), errors);
    assertTrue(errors.contains("caching.response_cache.ttl: must be > 0"), errors);
    assertTrue(errors.contains("caching.response_cache.storage: no cache named \"nowhere\""), errors);
    assertTrue(errors.contains("condensation.adaptive_factor"), errors);
  }

  @Test
  void aMemoryCacheOfStorageIsRefusedAsTheResponseCachesStore() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - name: local
              driver: memory
        caching:
          enabled: true
          response_cache:
            storage: local
        """);
    assertFalse(loaded.ok());
    assertTrue(String.join("\n", loaded.errors()).contains("caching.response_cache.storage: \"local\" is a memory cache"),
        loaded.errors()::toString);
  }

  @Test
  void dotEnvBesideTheConfigSuppliesVariablesAndTheRealEnvironmentWins(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve(".env"), """
        # comment
        export BACKEND_HOST=gpu-from-dotenv
        PORT="9100"
        SECRET_TOKEN='s3cr3t-from-dotenv' # trailing comment
        not a line
        """);
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, """
        server:
          listen: "127.0.0.1:${PORT}"
        backends:
          - url: "http://${BACKEND_HOST}:8080/v1"
            headers:
              Authorization: "Bearer ${SECRET_TOKEN}"
        """);
    LoadedConfig loaded = TestConfigs.loadFile(file.toString(), Map.of("PORT", "9200"));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals("127.0.0.1:9200", loaded.config().server().listen(), "the real environment wins");
    assertEquals("http://gpu-from-dotenv:8080/v1", loaded.config().backends().get(0).url());
    assertEquals("Bearer s3cr3t-from-dotenv", loaded.config().backends().get(0).headers().get("Authorization"));
    String warnings = String.join("\n", loaded.warnings());
    assertTrue(warnings.contains(".env:5: not NAME=value"), warnings);
    assertFalse(warnings.contains("s3cr3t"), "a value from .env is never printed: " + warnings);
  }

  @Test
  void withoutDotEnvAVariableIsStillMissing(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, "backends:\n  - url: \"http://${NOT_IN_DOTENV_XYZ}:8080\"\n");
    LoadedConfig loaded = TestConfigs.loadFile(file.toString(), Map.of());
    assertFalse(loaded.ok());
    assertEquals("backends[0].url: environment variable NOT_IN_DOTENV_XYZ is not set", loaded.errors().get(0));
  }
}
