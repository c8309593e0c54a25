package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  @Test
  void defaultsMatchTheReference() {
    GatewayConfig c = GatewayConfig.defaults();
    assertEquals(":8000", c.server().listen());
    assertEquals(Duration.ofSeconds(30), c.server().readTimeout());
    assertEquals(Duration.ofSeconds(60), c.server().writeTimeout());
    assertEquals(Duration.ofSeconds(120), c.server().idleTimeout());
    assertEquals(1_048_576, c.server().maxHeaderBytes());
    assertEquals(10_485_760L, c.server().maxBodySize());
    assertEquals(Duration.ofSeconds(30), c.server().shutdownTimeout());
    assertEquals(List.of(), c.backends());
    assertEquals(Duration.ofSeconds(30), c.healthCheck().interval());
    assertEquals(Duration.ofSeconds(5), c.healthCheck().timeout());
    assertEquals("GET", c.healthCheck().method());
    assertEquals("/health", c.healthCheck().path());
    assertEquals(200, c.healthCheck().expectedStatus());
    assertEquals(3, c.healthCheck().unhealthyThreshold());
    assertEquals(2, c.healthCheck().healthyThreshold());
    assertEquals("round_robin", c.routing().loadBalance());
    assertEquals(Duration.ofSeconds(60), c.routing().timeout());
    assertEquals(Duration.ofSeconds(5), c.routing().connectTimeout());
    assertEquals(3, c.routing().retry().maxRetries());
    assertEquals(Duration.ofSeconds(1), c.routing().retry().initialWait());
    assertEquals(Duration.ofSeconds(10), c.routing().retry().maxWait());
    assertEquals(2.0, c.routing().retry().multiplier());
    assertEquals("first_match", c.auth().mode());
    assertEquals(List.of("Authorization", "X-API-Key"), c.auth().headerNames());
    assertEquals(List.of("/health", "/ready", "/metrics"), c.auth().skipPaths());
    assertEquals(new StatusCodeConfig(403, "API Key is disabled"), c.auth().statusCode("disabled"));
    assertEquals(new StatusCodeConfig(403, "API Key has expired"), c.auth().statusCode("expired"));
    assertEquals(new StatusCodeConfig(429, "Quota exceeded"), c.auth().statusCode("quota_exceeded"));
    assertEquals(new StatusCodeConfig(401, "Invalid API Key"), c.auth().statusCode("not_found"));
    assertEquals("./data/keys.db", c.admin().dbPath());
    assertEquals("memory", c.rateLimit().storage());
    assertEquals("allow", c.rateLimit().onStoreError());
    assertEquals("./data/usage-journal", c.usage().journalPath());
    assertTrue(c.metrics().enabled());
    assertEquals("/metrics", c.metrics().path());
    assertEquals(List.of(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0), c.metrics().latencyBuckets());
    assertEquals("info", c.log().level());
    assertEquals("json", c.log().format());
    assertEquals("stdout", c.log().output());
    assertEquals(Duration.ofMillis(100), c.hooks().onRequest().timeout());
  }

  @Test
  void backendDefaults() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("000/24-minimal.yaml").toString(), Map.of());
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(), loaded.warnings());
    BackendConfig b = loaded.config().backends().get(0);
    assertEquals("localhost:11434", b.name());
    assertEquals(1, b.weight());
    assertEquals(null, b.timeout(), "unset: the backend takes routing.timeout");
    assertEquals(Duration.ofSeconds(60), b.timeoutOr(loaded.config().routing().timeout()));
    assertEquals(Duration.ofSeconds(5), b.connectTimeoutOr(loaded.config().routing().connectTimeout()));
    assertEquals(Duration.ofSeconds(7), new BackendConfig("b", "http://b", 1, Duration.ofSeconds(7), null, 1,
        Map.of(), List.of()).timeoutOr(Duration.ofSeconds(60)), "a backend's own timeout wins");
    assertEquals(100, b.maxIdleConns());
    assertEquals(Map.of(), b.headers());
  }

  @Test
  void withAuthenticationExampleLoads() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("000/25-with-authentication.yaml").toString(), Map.of());
    assertTrue(loaded.ok(), loaded.errors()::toString);
    // The seed's example guards /admin/* with a key too, and builtin keys are made there: a fresh store stays empty.
    assertEquals(List.of("auth.skip_paths: \"/admin/\" is not listed, so the admin API on the main port needs an API"
        + " key besides X-Admin-Token; with only builtin keys the first key cannot be created through it: list"
        + " \"/admin/\" or give admin its own listen"), loaded.warnings());
    GatewayConfig c = loaded.config();
    assertTrue(c.admin().enabled());
    assertEquals("builtin", c.auth().pipeline().get(0).type());
    assertEquals(List.of("/health", "/metrics"), c.auth().skipPaths());
    assertEquals("builtin", c.usage().reporters().get(0).type());
  }

  @Test
  void productionExampleLoadsWithItsSecretsFromTheEnvironment() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("000/26-production.yaml").toString(),
        Map.of("DB_PASSWORD", "db-secret", "REDIS_PASSWORD", "redis-secret"));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of("storage.databases[0].max_idle_conns: not enforced: a Vert.x SQL pool cannot cap its idle"
        + " connections; up to max_open_conns (50) stay open until conn_max_idle_time (10m) closes them"),
        loaded.warnings());
    GatewayConfig c = loaded.config();
    assertEquals("db-secret", c.storage().database("primary").orElseThrow().password());
    assertEquals("redis-secret", c.storage().cache("primary").orElseThrow().password());
    assertEquals("least_connections", c.routing().loadBalance());
    assertEquals(2, c.routing().retry().maxRetries());
    assertEquals(50, c.rateLimit().perKey().requestsPerSecond());
    assertEquals(Duration.ofSeconds(3), c.healthCheck().timeout());

    LoadedConfig missing = TestConfigs.loadFile(SeedExamples.file("000/26-production.yaml").toString(), Map.of());
    assertEquals(List.of("storage.databases[0].password: environment variable DB_PASSWORD is not set",
        "storage.caches[0].password: environment variable REDIS_PASSWORD is not set"), missing.errors());
  }

  @Test
  void seed004ScenarioLoads() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("004/01-scenario1.yaml").toString(), Map.of());
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig c = loaded.config();
    assertEquals(10, c.backends().get(0).weight());
    assertEquals("sk-llmproxy-dev-001", c.auth().pipeline().get(0).staticConfig().keys().get(0).key());
    assertEquals(60, c.rateLimit().perKey().requestsPerMinute());
    assertEquals(3, c.rateLimit().perKey().maxConcurrent());
  }

  @Test
  void unknownKeysAreWarningsWithTheirFullPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          lisen: ":9000"
        backends:
          - url: "http://a:1"
            wieght: 3
        colour: blue
        """);
    assertTrue(loaded.ok());
    assertEquals(List.of("server.lisen: unknown field; did you mean `listen`?",
        "backends[0].wieght: unknown field; did you mean `weight`?", "colour: unknown field"), loaded.warnings());
  }

  /** Issue 19: the nearest known field of the same section, at most two edits away, and none for another word. */
  @Test
  void anUnknownFieldNamesTheKnownOneItIsATypoOf() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          read_timout: 5s
          Read_Timeout: 5s
          idle: 5s
        routing:
          retry:
            max_retires: 2
        """);
    assertTrue(loaded.ok(), loaded.errors().toString());
    assertEquals(List.of("server.read_timout: unknown field; did you mean `read_timeout`?",
        "server.Read_Timeout: unknown field; did you mean `read_timeout`?", "server.idle: unknown field",
        "routing.retry.max_retires: unknown field; did you mean `max_retries`?"), loaded.warnings());
  }

  @Test
  void everyErrorIsListedByPathAtOnce() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        server:
          listen: "nowhere"
        backends:
          - url: "http://ok:8000"
          - url: "ftp://nope"
            weight: -1
          - name: ok:8000
            url: "http://other:8000"
        admin:
          enabled: true
        auth:
          mode: any
          pipeline:
            - type: redis
              redis:
                storage: x
        routing:
          load_balance: fastest
          timeout: 0s
          retry:
            max_retries: -1
            multiplier: 0.5
        rate_limit:
          on_store_error: maybe
        """);
    assertFalse(loaded.ok());
    assertNull(loaded.config());
    List<String> expected = List.of(
        "server.listen: not host:port",
        "backends[2].name: duplicate name \"ok:8000\"",
        "backends[1].url: not an http(s) URL",
        "backends[1].weight: must be >= 0",
        "admin.token: required when admin is enabled",
        "auth.mode: must be one of first_match, all",
        "auth.pipeline[0].redis.storage: no cache named \"x\" in storage.caches",
        "rate_limit.on_store_error: must be one of allow, deny",
        "routing.load_balance: must be one of round_robin, weighted, least_connections, random, latency_based, "
            + "queue_aware, prefix_aware",
        "routing.timeout: must be > 0",
        "routing.retry.max_retries: must be >= 0",
        "routing.retry.multiplier: must be >= 1");
    assertEquals(expected, loaded.errors());
  }

  @Test
  void storageReferencesAndDuplicatesAreChecked() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          databases:
            - name: main
              driver: sqlite
              path: ./x.db
            - name: main
              driver: oracle
          caches:
            - name: c
              driver: redis
        logging:
          enabled: true
          request:
            enabled: true
            storage: logs
        usage:
          enabled: true
          reporters:
            - name: db
              type: database
              database:
                storage: main
            - name: hook
              type: webhook
              webhook:
                url: "not a url"
        """);
    assertEquals(List.of(
        "storage.databases[1].name: duplicate name \"main\"",
        "storage.databases[1].driver: must be one of mysql, postgres, sqlite",
        "storage.caches[0].addr: required for redis",
        "logging.request.storage: no database named \"logs\" in storage.databases",
        "usage.reporters[1].webhook.url: not an http(s) URL"), loaded.errors());
  }

  @Test
  void aWebhookBatchSizeIsOneByDefaultAndOutsideOneTo500AnErrorByPath() {
    String reporters = """
        usage:
          enabled: true
          journal_path: ./j
          reporters:
            - name: plain
              type: webhook
              webhook:
                url: "http://127.0.0.1:9/usage"
            - name: batched
              type: webhook
              webhook:
                url: "http://127.0.0.1:9/usage"
                batch_size: %s
        """;
    LoadedConfig valid = TestConfigs.loadYaml(reporters.formatted("100"));
    assertEquals(List.of(), valid.errors());
    assertEquals(1, valid.config().usage().reporters().get(0).webhook().batchSize());
    assertEquals(100, valid.config().usage().reporters().get(1).webhook().batchSize());
    assertEquals(100, valid.config().usage().reporters().get(1).webhook().toJson().getInteger("batch_size"));
    for (String wrong : List.of("0", "501")) {
      assertEquals(List.of("usage.reporters[1].webhook.batch_size: must be between 1 and 500"),
          TestConfigs.loadYaml(reporters.formatted(wrong)).errors());
    }
  }

  @Test
  void wrongShapesAreErrors() {
    LoadedConfig loaded = ConfigLoader.parse(new JsonObject()
        .put("server", "x")
        .put("backends", new JsonObject())
        .put("metrics", new JsonObject().put("latency_buckets", new io.vertx.core.json.JsonArray().add("a")))
        .put("health_check", new JsonObject().put("enabled", "sometimes")), Map.of());
    assertEquals(List.of("server: must be a mapping", "backends: must be a list",
        "health_check.enabled: not a boolean (\"sometimes\")", "metrics.latency_buckets[0]: not a number (\"a\")"),
        loaded.errors());
  }

  @Test
  void roundTripThroughCanonicalJson() {
    for (String file : List.of("000/24-minimal.yaml", "000/25-with-authentication.yaml", "000/26-production.yaml",
        "004/02-configuration.yaml", "003/01-complete.yaml")) {
      LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file(file).toString(),
          Map.of("DB_PASSWORD", "p", "REDIS_PASSWORD", "r"));
      assertTrue(loaded.ok(), loaded.errors()::toString);
      GatewayConfig c = loaded.config();
      JsonObject json = c.toJson();
      assertEquals(c, GatewayConfig.fromJson(json), file);
      assertEquals(c, GatewayConfig.fromJson(new JsonObject(json.encode())), file + " via encoded JSON");
    }
    LoadedConfig reference = TestConfigs.loadFile("../conf/config-reference.yaml", Map.of());
    assertEquals(reference.config(), GatewayConfig.fromJson(reference.config().toJson()));
    assertEquals(GatewayConfig.defaults(), GatewayConfig.fromJson(GatewayConfig.defaults().toJson()));
    assertEquals("30s", GatewayConfig.defaults().toJson().getJsonObject("server").getString("read_timeout"));
    assertEquals("100ms", GatewayConfig.defaults().toJson().getJsonObject("hooks").getJsonObject("on_request")
        .getString("timeout"));
  }

  @Test
  void fromJsonRejectsInvalidConfig() {
    JsonObject json = GatewayConfig.defaults().toJson();
    json.getJsonObject("routing").put("load_balance", "nope");
    assertThrows(IllegalArgumentException.class, () -> GatewayConfig.fromJson(json));
  }

  @Test
  void shippedConfigFilesLoadWithoutErrors() {
    LoadedConfig runnable = TestConfigs.loadFile("../conf/config.yaml", Map.of());
    assertTrue(runnable.ok(), runnable.errors()::toString);
    assertEquals(List.of(), runnable.warnings());
    GatewayConfig c = runnable.config();
    assertEquals(":8000", c.server().listen());
    assertEquals("local", c.backends().get(0).name());
    assertEquals("http://127.0.0.1:8080", c.backends().get(0).url());
    assertFalse(c.auth().enabled());
    assertFalse(c.rateLimit().enabled());
    assertFalse(c.admin().enabled());
    assertTrue(c.usage().enabled());
    assertTrue(c.metrics().enabled());

    LoadedConfig reference = TestConfigs.loadFile("../conf/config-reference.yaml", Map.of());
    assertTrue(reference.ok(), reference.errors()::toString);
    assertEquals(List.of(), reference.warnings());
  }

  @Test
  void yamlTimestampsAreRead() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        auth:
          pipeline:
            - type: static
              static:
                keys:
                  - key: k1
                    expires_at: 2030-01-01T00:00:00Z
                    starts_at: "2029-06-01T12:00:00+02:00"
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    ApiKeyConfig key = loaded.config().auth().pipeline().get(0).staticConfig().keys().get(0);
    assertEquals("2030-01-01T00:00:00Z", key.expiresAt().orElseThrow().toString());
    assertEquals("2029-06-01T10:00:00Z", key.startsAt().orElseThrow().toString());
    assertEquals(loaded.config(), GatewayConfig.fromJson(loaded.config().toJson()));
  }

  @Test
  void invalidYamlIsAnError() {
    LoadedConfig loaded = TestConfigs.loadYaml("server: [unclosed\n");
    assertFalse(loaded.ok());
  }

  @Test
  void missingFileIsAnError() {
    LoadedConfig loaded = TestConfigs.loadFile("does-not-exist.yaml", Map.of());
    assertFalse(loaded.ok());
    assertTrue(loaded.errors().get(0).startsWith("does-not-exist.yaml: cannot read config"));
  }
}
