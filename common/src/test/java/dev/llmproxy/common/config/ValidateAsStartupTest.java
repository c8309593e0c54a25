package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, "validate = start-up": what would make start-up fail, or a feature do nothing, fails loading (which both
 * {@code validate} and start-up run) by its path.
 */
class ValidateAsStartupTest {

  @TempDir
  Path dir;

  private String script(String name, String source) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, source);
    return file.toString();
  }

  /** Every kind of script block the gateway loads, each pointing at {@code path} (or with {@code inline} source). */
  private static String everyScriptBlock(String path) {
    return """
        auth:
          pipeline:
            - name: scripted
              type: static
              script: {enabled: true, path: "%1$s"}
            - name: lua
              type: lua
              lua: {path: "%1$s"}
            - name: seed003
              type: static
              lua_script: "if then"
        routing:
          script: {enabled: true, path: "%1$s"}
        rate_limit:
          enabled: true
          script: {enabled: true, path: "%1$s"}
        discovery:
          enabled: true
          sources:
            - name: s
              type: static
              static: {backends: [{url: "http://a:1"}]}
              script: {enabled: true, path: "%1$s"}
        health_check:
          enabled: true
          script: {enabled: true, path: "%1$s"}
        logging:
          enabled: true
          request: {enabled: true, stdout: true, script: {enabled: true, path: "%1$s"}}
          access: {enabled: true, output: stdout, script: {enabled: true, path: "%1$s"}}
        usage:
          enabled: true
          reporters:
            - name: hook
              type: webhook
              webhook: {url: "http://b:1"}
              script: {enabled: true, path: "%1$s"}
        hooks:
          enabled: true
          on_request: {enabled: true, path: "%1$s"}
          on_auth: {enabled: false, path: "/no/such/hook.lua"}
          on_complete: {enabled: true, script: "return ("}
        """.formatted(path);
  }

  private static final List<String> FILE_BLOCKS = List.of("auth.pipeline[0].script", "auth.pipeline[1].lua",
      "routing.script", "rate_limit.script", "discovery.sources[0].script", "health_check.script",
      "logging.request.script", "logging.access.script", "usage.reporters[0].script", "hooks.on_request");

  @Test
  void aScriptThatDoesNotCompileIsAnErrorByItsPathWithTheLuaLine() throws Exception {
    String bad = script("bad.lua", "local x = 1\nif then end\n");
    LoadedConfig loaded = TestConfigs.loadYaml(everyScriptBlock(bad));
    List<String> expected = new ArrayList<>();
    expected.add("auth.pipeline[2].script:1: unexpected symbol near 'then'");
    FILE_BLOCKS.forEach(at -> expected.add(at + ": " + bad + ":2: unexpected symbol near 'then'"));
    expected.add("hooks.on_complete:1: unexpected symbol near '<eof>'");
    assertEquals(expected.stream().sorted().toList(), loaded.errors().stream().sorted().toList());
  }

  @Test
  void aScriptFileThatDoesNotExistIsAnErrorByItsPath() {
    String missing = dir.resolve("missing.lua").toString();
    LoadedConfig loaded = TestConfigs.loadYaml(everyScriptBlock(missing));
    for (String at : FILE_BLOCKS) {
      assertTrue(loaded.errors().contains(at + ": cannot read " + missing + ": no such file"), at + " " + loaded.errors());
    }
    assertFalse(loaded.errors().toString().contains("hooks.on_auth"), "a hook that is off is not loaded");
  }

  @Test
  void scriptsThatCompileLoadAndRelativePathsResolveAgainstTheWorkingDirectory() throws Exception {
    String good = script("good.lua", "return true\n");
    String relative = Path.of("").toAbsolutePath().relativize(Path.of(good)).toString();
    LoadedConfig loaded = TestConfigs.loadYaml(everyScriptBlock(relative)
        .replace("\"if then\"", "\"return true\"").replace("\"return (\"", "\"return {continue = true}\""));
    assertTrue(loaded.ok(), loaded.errors()::toString);
  }

  @Test
  void scriptsOfModulesThatAreOffAreNotLoaded() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        rate_limit:
          enabled: false
          script: {enabled: true, path: /no/such.lua}
        logging:
          enabled: false
          request: {enabled: true, stdout: true, script: {enabled: true, path: /no/such.lua}}
        hooks:
          enabled: false
          on_request: {enabled: true, path: /no/such.lua}
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
  }

  @Test
  void builtinProviderAndReporterRequireAdmin() {
    String yaml = """
        admin:
          enabled: %s
          token: t
        auth:
          enabled: true
          pipeline:
            - name: keys
              type: builtin
        usage:
          enabled: true
          reporters:
            - name: local
              type: builtin
        """;
    assertEquals(List.of(
        "auth.pipeline[0].type: builtin requires admin.enabled: true (the builtin provider reads its keys from the "
            + "admin key store)",
        "usage.reporters[0].type: builtin requires admin.enabled: true (the builtin reporter stores records in the "
            + "admin module's database)"), TestConfigs.loadYaml(yaml.formatted("false")).errors());
    assertTrue(TestConfigs.loadYaml(yaml.formatted("true")).ok());
  }

  @Test
  void redisConsumersNeedAnEnabledRedisCacheThatExists() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - name: local
              driver: memory
            - name: spare
              driver: redis
              addr: "127.0.0.1:6379"
              enabled: false
        auth:
          pipeline:
            - name: a
              type: redis
              redis: {storage: local}
            - name: b
              type: redis
              redis: {storage: spare}
            - name: c
              type: redis
              redis: {storage: nowhere}
        rate_limit:
          enabled: true
          storage: redis
          redis: local
        """);
    // A memory cache suits the rate limiter (it counts in this process), never the redis auth provider.
    assertEquals(List.of(
        "auth.pipeline[0].redis.storage: \"local\" is a memory cache: a memory cache lives inside this process and"
            + " nothing outside it can write key records into it, so every key would be refused; the redis provider"
            + " needs a redis cache (or use the builtin, static or database provider)",
        "auth.pipeline[1].redis.storage: the cache \"spare\" is disabled in storage.caches (enabled: false)",
        "auth.pipeline[2].redis.storage: no cache named \"nowhere\" in storage.caches"),
        loaded.errors());
  }

  @Test
  void rateLimitsWrittenWithoutEnabledAreOnAndSaySo() {
    LoadedConfig implicit = TestConfigs.loadYaml("rate_limit:\n  global:\n    requests_per_second: 5\n");
    assertTrue(implicit.config().rateLimit().enabled());
    assertEquals(List.of("rate_limit.enabled: not set; rate limiting is on because rate_limit.global sets limits "
        + "(write enabled: true to say so, or enabled: false to switch them off)"), implicit.warnings());

    LoadedConfig off = TestConfigs.loadYaml("rate_limit:\n  enabled: false\n  per_key:\n    max_concurrent: 3\n");
    assertFalse(off.config().rateLimit().enabled(), "an explicit enabled: false wins");
    assertEquals(List.of(), off.warnings());

    LoadedConfig nothing = TestConfigs.loadYaml("rate_limit:\n  per_key:\n    enabled: false\n    max_concurrent: 3\n");
    assertFalse(nothing.config().rateLimit().enabled(), "a tier that is off asks for no limit");
  }

  // ---- seed 001's spellings ------------------------------------------------------------------

  @Test
  void rateLimitStorageCacheUsesTheOnlyRedisCache() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - name: ratelimit
              driver: redis
              addr: "redis-ratelimit:6379"
        rate_limit:
          enabled: true
          storage: cache
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals("redis", loaded.config().rateLimit().storage());
    assertEquals("ratelimit", loaded.config().rateLimit().redis());
    assertEquals(List.of("rate_limit.storage: \"cache\" is deprecated here, use rate_limit.storage: redis and "
        + "rate_limit.redis: ratelimit"), loaded.warnings());
  }

  @Test
  void rateLimitStorageCacheWithAMemoryCacheCountsInThisProcess() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - name: primary
              driver: redis
              addr: "localhost:6379"
            - name: local
              driver: memory
        rate_limit:
          enabled: true
          storage: cache
          redis: local
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals("memory", loaded.config().rateLimit().storage());
    assertEquals(List.of("rate_limit.storage: \"cache\" is deprecated here; the cache \"local\" is a memory cache, "
        + "so this is rate_limit.storage: memory (counters kept in this process)"), loaded.warnings());
  }

  @Test
  void rateLimitStorageCacheAmongSeveralNeedsRedisToChoose() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - {name: a, driver: redis, addr: "h:6379"}
            - {name: b, driver: redis, addr: "h:6380"}
        rate_limit:
          enabled: true
          storage: cache
        """);
    assertEquals(List.of("rate_limit.storage: \"cache\" needs rate_limit.redis to name one of storage.caches"),
        loaded.errors());
  }

  @Test
  void requestLogStorageFileWritesTheJsonLinesFile() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        logging:
          enabled: true
          request:
            enabled: true
            storage: file
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    RequestLogConfig request = loaded.config().logging().request();
    assertEquals("", request.storage());
    assertEquals(RequestLogConfig.DEFAULT_FILE, request.file().path());
    assertEquals(List.of("logging.request.storage: \"file\" is deprecated, use logging.request.file.path "
        + "(./logs/requests.log)"), loaded.warnings());

    LoadedConfig ownPath = TestConfigs.loadYaml("""
        logging:
          enabled: true
          request: {enabled: true, storage: file, file: {path: ./r.log}}
        """);
    assertEquals("./r.log", ownPath.config().logging().request().file().path());
  }

  @Test
  void requestLogStorageStdoutWritesLinesToStdout() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        logging:
          enabled: true
          request:
            enabled: true
            storage: stdout
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertTrue(loaded.config().logging().request().stdout());
    assertTrue(loaded.config().logging().request().writesLines());
    assertEquals(List.of("logging.request.storage: \"stdout\" is deprecated, use logging.request.stdout: true"),
        loaded.warnings());
  }

  @Test
  void requestLogStorageDatabaseMeansTheOnlyDatabase() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          databases:
            - {name: logs, driver: sqlite, path: ./logs.db}
        logging:
          enabled: true
          request: {enabled: true, storage: database}
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals("logs", loaded.config().logging().request().storage());
    assertEquals(List.of("logging.request.storage: \"database\" is deprecated here, name the database: "
        + "logging.request.storage: logs"), loaded.warnings());
  }

  @Test
  void accessLogStorageIsItsOutput() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        logging:
          enabled: true
          access: {enabled: true, storage: file, file: {path: ./a.log}}
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals("file", loaded.config().logging().access().output());
    assertEquals(List.of("logging.access.storage: deprecated, use logging.access.output"), loaded.warnings());
  }

  @Test
  void hooksThatAreOnRunAndNeedNoWarning() {
    LoadedConfig loaded = TestConfigs.loadYaml("hooks:\n  enabled: true\n");
    assertEquals(List.of(), loaded.warnings());
  }

  @Test
  void seed001TransformScriptsBecomeTheirHooks() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        scripts:
          enabled: true
          request_transform: {enabled: true, script: "return {continue = true}"}
          response_transform: {enabled: false, script: "return nil"}
          error_handler: {enabled: true, script: "return {status = 418}"}
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    HooksConfig hooks = loaded.config().hooks();
    assertTrue(hooks.enabled());
    assertEquals("return {continue = true}", hooks.onRequest().script());
    assertTrue(hooks.onRequest().enabled());
    assertEquals("return nil", hooks.onResponse().script());
    assertEquals("return {status = 418}", hooks.onError().script());
    assertEquals(List.of("scripts.request_transform: deprecated, use hooks.on_request",
        "scripts.response_transform: deprecated, use hooks.on_response",
        "scripts.error_handler: deprecated, use hooks.on_error"), loaded.warnings());
  }

  @Test
  void aStaticKeysQuotaWithoutAdminIsCountedInMemoryAndValidateSaysSo() {
    String yaml = """
        auth:
          enabled: true
          pipeline:
            - name: fixed
              type: static
              static:
                keys:
                  - key: sk-free-1111
                  - key: sk-metered-2222
                    total_quota: 100
        """;
    LoadedConfig withoutAdmin = TestConfigs.loadYaml(yaml);
    assertTrue(withoutAdmin.ok(), withoutAdmin.errors()::toString);
    assertEquals(List.of("auth.pipeline[0].static.keys[1].total_quota: the key's used quota is kept in memory only,"
        + " because admin is disabled (the builtin store would keep it); a restart starts it again from its"
        + " used_quota"), withoutAdmin.warnings());
    LoadedConfig withAdmin = TestConfigs.loadYaml(yaml + "admin:\n  enabled: true\n  token: t\n");
    assertEquals(List.of(), withAdmin.warnings());
  }
}
