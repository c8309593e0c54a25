package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeprecatedFieldsTest {

  /** The original's api_keys carry quotas; with admin off they are counted in memory, and validation says so. */
  private static final String IN_MEMORY = "the key's used quota is kept in memory only, because admin is disabled (the builtin store would keep it); a restart starts it again from its used_quota";


  private static LoadedConfig ok(String yaml) {
    LoadedConfig loaded = TestConfigs.loadYaml(yaml);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    return loaded;
  }

  @Test
  void topLevelListenMovesToServer() {
    LoadedConfig loaded = ok("listen: \":9100\"\n");
    assertEquals(":9100", loaded.config().server().listen());
    assertEquals(List.of("listen: deprecated, use server.listen"), loaded.warnings());
  }

  @Test
  void topLevelListenLosesToServerListen() {
    LoadedConfig loaded = ok("listen: \":9100\"\nserver:\n  listen: \":9200\"\n");
    assertEquals(":9200", loaded.config().server().listen());
    assertEquals(1, loaded.warnings().size());
    assertTrue(loaded.warnings().get(0).startsWith("listen: deprecated, use server.listen"));
  }

  @Test
  void loadBalanceStrategyMovesToRoutingLoadBalance() {
    LoadedConfig top = ok("load_balance_strategy: least_conn\n");
    assertEquals("least_connections", top.config().routing().loadBalance());
    assertEquals(List.of("load_balance_strategy: deprecated, use routing.load_balance"), top.warnings());

    LoadedConfig nested = ok("routing:\n  load_balance_strategy: latency_based\n");
    assertEquals("latency_based", nested.config().routing().loadBalance());
    assertEquals(List.of("routing.load_balance_strategy: deprecated, use routing.load_balance"), nested.warnings());
  }

  @Test
  void apiKeysBecomeAStaticProvider() {
    LoadedConfig loaded = ok("""
        auth:
          enabled: true
          storage: "file"
        api_keys:
          - key: "sk-1"
            name: "Dev"
            status: active
            total_quota: 1000
            allowed_ips: ["10.0.0.0/8"]
            expires_at: "2030-01-01T00:00:00Z"
        """);
    AuthProviderConfig provider = loaded.config().auth().pipeline().get(0);
    assertEquals("static", provider.type());
    assertTrue(provider.enabled());
    ApiKeyConfig key = provider.staticConfig().keys().get(0);
    assertEquals("sk-1", key.key());
    assertEquals(1000L, key.totalQuota());
    assertEquals(List.of("10.0.0.0/8"), key.allowedIps());
    assertEquals("2030-01-01T00:00:00Z", key.expiresAt().orElseThrow().toString());
    assertEquals(List.of("api_keys: deprecated, use auth.pipeline[].static.keys",
        "auth.storage: deprecated, use auth.pipeline[].type: static",
        "auth.pipeline[0].static.keys[0].total_quota: " + IN_MEMORY), loaded.warnings());
  }

  @Test
  void authStorageFileAloneGivesAnEmptyStaticProvider() {
    LoadedConfig loaded = ok("auth:\n  storage: file\n");
    assertEquals("static", loaded.config().auth().pipeline().get(0).type());
    assertEquals(List.of("auth.storage: deprecated, use auth.pipeline[].type: static"), loaded.warnings());
  }

  @Test
  void usageHookReportersMoveToUsage() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("004/02-configuration.yaml").toString(), java.util.Map.of());
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig c = loaded.config();
    assertTrue(c.usage().enabled());
    ReporterConfig webhook = c.usage().reporters().get(0);
    assertEquals("billing", webhook.name());
    assertEquals("webhook", webhook.type());
    assertEquals("https://your-billing.com/llm-usage", webhook.webhook().url());
    assertEquals(Duration.ofSeconds(3), webhook.webhook().timeout());
    ReporterConfig db = c.usage().reporters().get(1);
    assertEquals("database", db.type());
    DatabaseConfig pool = c.storage().database(db.database().storage()).orElseThrow();
    assertEquals("mysql", pool.driver());
    assertEquals("user:pass@tcp(localhost:3306)/llmproxy", pool.dsn());
    assertEquals(":8000", c.server().listen());
    assertEquals(List.of("listen: deprecated, use server.listen", "usage_hook: deprecated, use usage.reporters"),
        loaded.warnings());
  }

  @Test
  void flatUsageHookBecomesOneWebhookReporter() {
    LoadedConfig loaded = ok("""
        usage_hook:
          enabled: true
          url: "http://billing:3000/api/usage"
          timeout: 3s
          retry: 3
        """);
    ReporterConfig r = loaded.config().usage().reporters().get(0);
    assertEquals("webhook", r.type());
    assertEquals("http://billing:3000/api/usage", r.webhook().url());
    assertEquals(3, r.webhook().retry());
    assertEquals(List.of("usage_hook: deprecated, use usage.reporters"), loaded.warnings());
  }

  @Test
  void luaScriptStringAndInlineRedisMoveToTheirBlocks() {
    LoadedConfig loaded = TestConfigs.loadFile(SeedExamples.file("003/01-complete.yaml").toString(), java.util.Map.of());
    assertTrue(loaded.ok(), loaded.errors()::toString);
    AuthProviderConfig redis = loaded.config().auth().pipeline().get(0);
    assertTrue(redis.script().enabled());
    assertTrue(redis.script().script().contains("balance"));
    CacheConfig cache = loaded.config().storage().cache(redis.redis().storage()).orElseThrow();
    assertEquals("localhost:6379", cache.addr());
    assertEquals("static", loaded.config().auth().pipeline().get(1).type());
    assertEquals(List.of("qwen-72b"), loaded.config().backends().get(0).models());
    assertEquals(List.of(
        "listen: deprecated, use server.listen",
        "routing.load_balance_strategy: deprecated, use routing.load_balance",
        "usage_hook: deprecated, use usage.reporters",
        "api_keys: deprecated, use auth.pipeline[].static.keys",
        "auth.pipeline[0].lua_script: deprecated, use auth.pipeline[0].script.script",
        "auth.pipeline[0].redis.addr: deprecated, use storage.caches[name=auth_redis_auth] and auth.pipeline[0].redis.storage",
        "auth.pipeline[1].static.keys[0].total_quota: " + IN_MEMORY),
        loaded.warnings());
  }

  @Test
  void seed001CodeKeyAndAliases() {
    LoadedConfig loaded = ok("""
        routing:
          load_balance: weighted
          script:
            enabled: true
            code: "return process(ctx, data)"
        storage:
          caches:
            - name: ratelimit
              driver: redis
              addr: "redis:6379"
        rate_limit:
          enabled: true
          storage: ratelimit
        """);
    assertEquals("weighted", loaded.config().routing().loadBalance());
    assertEquals("return process(ctx, data)", loaded.config().routing().script().script());
    assertEquals("redis", loaded.config().rateLimit().storage());
    assertEquals("ratelimit", loaded.config().rateLimit().redis());
    assertEquals(2, loaded.warnings().size(), loaded.warnings()::toString);
    assertTrue(loaded.warnings().contains("routing.script.code: deprecated, use routing.script.script"));
  }
}
