package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code storage} fields the Vert.x clients cannot honour are named by path; memory caches go where they work. */
class StorageFieldsTest {

  private static final String MEMORY_CACHE = """
      storage:
        caches:
          - name: local
            driver: memory
            max_size: 10000
            ttl: 5m
      """;

  private static final String POSTGRES = """
        storage:
          databases:
            - name: primary
              driver: postgres
              host: 127.0.0.1
        """;

  private static final String RATE_LIMIT_ON_LOCAL = """
        rate_limit:
          enabled: true
          storage: redis
          redis: local
          global:
            requests_per_minute: 10
        """;

  private static CacheConfig cache(String driver, Duration dial, Duration read, Duration write) {
    return new CacheConfig("c", true, driver, "127.0.0.1:6379", "", 0, 10, 0, dial, read, write, 10,
        Duration.ofMinutes(5));
  }

  @Test
  void anIdleCapBelowMaxOpenConnsIsNamedAsNotEnforced() {
    LoadedConfig loaded = TestConfigs.loadYaml(POSTGRES + """
              max_open_conns: 100
              max_idle_conns: 10
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of("storage.databases[0].max_idle_conns: not enforced: a Vert.x SQL pool cannot cap its idle"
        + " connections; up to max_open_conns (100) stay open until conn_max_idle_time (10m) closes them"),
        loaded.warnings());
  }

  @Test
  void anUnsetIdleCapIsMaxOpenConnsAndSaysNothing() {
    LoadedConfig loaded = TestConfigs.loadYaml(POSTGRES + """
              max_open_conns: 20
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(), loaded.warnings());
    assertEquals(20, loaded.config().storage().database("primary").orElseThrow().maxIdleConns());
  }

  @Test
  void minIdleConnsOfARedisCacheIsNamedAsNotUsed() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        storage:
          caches:
            - name: primary
              driver: redis
              addr: 127.0.0.1:6379
              min_idle_conns: 10
            - name: quiet
              driver: redis
              addr: 127.0.0.1:6379
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of("storage.caches[0].min_idle_conns: not used: the Vert.x Redis pool opens connections when"
        + " commands need them and keeps no minimum of idle ones"), loaded.warnings());
  }

  @Test
  void aRedisCommandIsBoundedByDialWriteAndReadTimeouts() {
    CacheConfig redis = cache("redis", Duration.ofSeconds(5), Duration.ofSeconds(3), Duration.ofSeconds(2));
    assertEquals(Duration.ofSeconds(10), redis.commandTimeout());
  }

  @Test
  void theRedisAuthProviderRefusesAMemoryCacheByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml(MEMORY_CACHE + """
        auth:
          enabled: true
          pipeline:
            - name: redis_auth
              type: redis
              redis:
                storage: local
        """);
    assertFalse(loaded.ok());
    assertEquals(List.of("auth.pipeline[0].redis.storage: \"local\" is a memory cache: a memory cache lives inside"
        + " this process and nothing outside it can write key records into it, so every key would be refused; the"
        + " redis provider needs a redis cache (or use the builtin, static or database provider)"), loaded.errors());
  }

  @Test
  void rateLimitAcceptsAMemoryCacheAndSaysWhenItsTtlIsRaised() {
    LoadedConfig fine = TestConfigs.loadYaml(MEMORY_CACHE + RATE_LIMIT_ON_LOCAL);
    assertTrue(fine.ok(), fine.errors()::toString);
    assertEquals(List.of(), fine.warnings());
    LoadedConfig shortTtl = TestConfigs.loadYaml(MEMORY_CACHE.replace("ttl: 5m", "ttl: 10s") + RATE_LIMIT_ON_LOCAL);
    assertTrue(shortTtl.ok(), shortTtl.errors()::toString);
    assertEquals(List.of("storage.caches[0].ttl: rate_limit keeps an idle key's counters for at least 1m (its"
        + " longest window), not 10s"), shortTtl.warnings());
  }

  @Test
  void whichConsumersTakeAMemoryCacheIsDecidedInOnePlace() {
    Duration second = Duration.ofSeconds(1);
    CacheConfig memory = cache("memory", second, second, second);
    CacheConfig redis = cache("redis", second, second, second);
    assertEquals(Optional.empty(), CacheConsumer.RATE_LIMIT.refusal(memory));
    assertTrue(CacheConsumer.AUTH_REDIS_PROVIDER.refusal(memory).isPresent());
    assertEquals(Optional.empty(), CacheConsumer.AUTH_REDIS_PROVIDER.refusal(redis));
  }
}
