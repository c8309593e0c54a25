package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Every YAML example of seeds 000, 001, 003 and 004 through the loader, as {@code validate} runs it: it loads, or it
 * fails only for what the example itself leaves out (the storage entry it refers to, the Lua file it names, the admin
 * module a builtin needs, the type of a partial item), with the messages asserted per example. The docker-compose
 * and Kubernetes manifests of seed 003 are not gateway configs and are not extracted; Lua blocks are scripts.
 */
class SeedExamplesTest {

  /** What each example fails with; an example not listed must load without an error. */
  private static final Map<String, List<String>> EXPECTED_ERRORS = new TreeMap<>(Map.ofEntries(
      Map.entry("000/05-storage-references.yaml", List.of(
          "auth.pipeline[0].type: must be one of builtin, redis, database, webhook, lua, static")),
      Map.entry("000/07-discovery.yaml", List.of(
          "discovery.sources[0].database.storage: no database named \"primary\" in storage.databases")),
      Map.entry("000/11-auth-redis.yaml", List.of(
          "auth.pipeline[0].redis.storage: no cache named \"primary\" in storage.caches")),
      Map.entry("000/12-auth-database.yaml", List.of(
          "auth.pipeline[0].database.storage: no database named \"primary\" in storage.databases")),
      Map.entry("000/14-auth-lua.yaml", List.of("auth.pipeline[0].lua: cannot read ./scripts/auth.lua: no such file")),
      Map.entry("000/16-logging.yaml", List.of(
          "logging.request.storage: no database named \"primary\" in storage.databases")),
      Map.entry("000/21-usage.yaml", List.of("usage.reporters[0].type: builtin requires admin.enabled: true "
          + "(the builtin reporter stores records in the admin module's database)")),
      Map.entry("000/22-hooks.yaml", List.of("hooks.on_request: cannot read ./scripts/on_request.lua: no such file")),
      Map.entry("000/23-script-block.yaml", List.of("routing.script: cannot read ./scripts/xxx.lua: no such file")),
      Map.entry("001/03-storage-references.yaml", List.of(
          "rate_limit.storage: \"ratelimit\" is neither memory, redis nor the name of a cache in storage.caches",
          "discovery.sources[0].type: must be one of database, static, consul, kubernetes, etcd, http")),
      Map.entry("001/05-discovery.yaml", List.of(
          "discovery.sources[0].database.storage: no database named \"database\" in storage.databases")),
      Map.entry("001/09-auth.yaml", List.of(
          "auth.pipeline[0].redis.storage: no cache named \"cache\" in storage.caches")),
      Map.entry("001/10-auth-redis.yaml", List.of(
          "auth.pipeline[0].redis.storage: no cache named \"cache\" in storage.caches")),
      Map.entry("001/11-auth-database.yaml", List.of(
          "auth.pipeline[0].database.storage: no database named \"database\" in storage.databases")),
      Map.entry("001/13-auth-lua.yaml", List.of("auth.pipeline[0].lua: cannot read ./scripts/auth.lua: no such file")),
      Map.entry("001/15-logging.yaml", List.of(
          "logging.request.storage: no database named \"database\" in storage.databases")),
      Map.entry("001/16-rate-limit.yaml", List.of(
          "rate_limit.storage: \"cache\" needs rate_limit.redis to name one of storage.caches")),
      Map.entry("001/21-scripts.yaml", List.of("routing.script: cannot read ./scripts/routing.lua: no such file")),
      Map.entry("001/22-script-block.yaml", List.of("routing.script: cannot read ./scripts/xxx.lua: no such file")),
      Map.entry("001/23-hooks.yaml", List.of(
          "hooks.on_request: cannot read ./scripts/on_request.lua: no such file",
          "hooks.on_response: cannot read ./scripts/on_response.lua: no such file",
          "hooks.on_error: cannot read ./scripts/on_error.lua: no such file")),
      Map.entry("003/04-recommended-auth.yaml", List.of(
          "auth.pipeline[0].redis.storage: required",
          "auth.pipeline[1].database.storage: required")),
      Map.entry("003/05-connection-pool-comments.yaml", List.of(
          SeedExamples.file("003/05-connection-pool-comments.yaml") + ": " + ConfigFileProblem.EMPTY))));

  /** Production's secrets come from the environment, as the example says. */
  private static final Map<String, String> ENV = Map.of("DB_PASSWORD", "db-secret", "REDIS_PASSWORD", "redis-secret");

  @Test
  void everySeedExampleLoadsOrFailsOnlyForWhatItLeavesOut() {
    List<String> examples = SeedExamples.all();
    assertEquals(54, examples.size(), "26 examples of seed 000, 23 of 001, 3 of 003, 2 of 004: " + examples);
    assertTrue(examples.containsAll(EXPECTED_ERRORS.keySet()), "an expectation names no example");
    for (String example : examples) {
      LoadedConfig loaded = SeedExamples.load(example, ENV);
      assertEquals(EXPECTED_ERRORS.getOrDefault(example, List.of()), loaded.errors(), example);
    }
  }

  @Test
  void theExamplesThatLoadDoSoWithTheWarningsTheirOlderSpellingsEarn() {
    // Production sets max_idle_conns below max_open_conns: Vert.x's SQL pool cannot honour it, and says so.
    assertEquals(List.of("storage.databases[0].max_idle_conns: not enforced: a Vert.x SQL pool cannot cap its idle"
            + " connections; up to max_open_conns (50) stay open until conn_max_idle_time (10m) closes them"),
        SeedExamples.load("000/26-production.yaml", ENV).warnings());
    assertEquals(List.of("logging.access.storage: deprecated, use logging.access.output"),
        SeedExamples.load("001/15-logging.yaml", ENV).warnings());
    assertEquals(List.of("listen: deprecated, use server.listen", "usage_hook: deprecated, use usage.reporters"),
        SeedExamples.load("004/02-configuration.yaml", ENV).warnings());
  }

  @Test
  void seed004sFirstScenarioLimitsAsItsConfigSays() {
    LoadedConfig loaded = SeedExamples.load("004/01-scenario1.yaml", ENV);
    assertTrue(loaded.config().rateLimit().enabled(), "per_key limits without enabled: the user asked for limits");
    assertEquals(60, loaded.config().rateLimit().perKey().requestsPerMinute());
    assertTrue(loaded.warnings().contains("rate_limit.enabled: not set; rate limiting is on because rate_limit.per_key "
        + "sets limits (write enabled: true to say so, or enabled: false to switch them off)"), loaded.warnings()::toString);
  }
}
