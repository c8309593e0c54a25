package dev.llmproxy.auth;

import dev.llmproxy.auth.provider.AuthScript;
import dev.llmproxy.auth.provider.BuiltinProvider;
import dev.llmproxy.auth.provider.DatabaseProvider;
import dev.llmproxy.auth.provider.RedisProvider;
import dev.llmproxy.auth.provider.WebhookProvider;
import dev.llmproxy.common.config.CacheConfig;
import dev.llmproxy.common.storage.Pools;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.redis.client.RedisAPI;
import dev.llmproxy.auth.provider.LuaProvider;
import dev.llmproxy.auth.provider.Provider;
import dev.llmproxy.auth.provider.ScriptedProvider;
import dev.llmproxy.auth.provider.StaticProvider;
import dev.llmproxy.common.config.AuthProviderConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.lua.LuaScript;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Builds one verticle instance's providers from {@code auth.pipeline}. Scripts are read (without blocking) and
 * compiled here, once; a script that cannot be read or compiled fails the start with its path and line.
 */
final class ProviderFactory {

  private final Vertx vertx;
  private final GatewayConfig config;
  /** How long a database or the builtin store may take before the provider counts as failed. */
  private static final long STORE_TIMEOUT_MS = 5_000;

  private final LuaSandbox sandbox;
  private final Pools pools;
  private HttpClient http;

  ProviderFactory(Vertx vertx, GatewayConfig config, LuaSandbox sandbox, Pools pools) {
    this.vertx = vertx;
    this.config = config;
    this.sandbox = sandbox;
    this.pools = pools;
  }

  /** The HTTP client of the webhook providers, if any was built; closed with the verticle. */
  HttpClient httpClient() {
    return http;
  }

  private Future<Provider> redis(AuthProviderConfig entry) {
    String storage = entry.redis().storage();
    CacheConfig cache = config.storage().cache(storage).orElse(null);
    long timeout = cache == null ? STORE_TIMEOUT_MS : cache.commandTimeout().toMillis();
    return Future.succeededFuture(new RedisProvider(entry.name(), RedisAPI.api(pools.redis(storage)),
        entry.redis().keyPattern(), timeout));
  }

  private Future<Provider> database(AuthProviderConfig entry) {
    return Future.succeededFuture(new DatabaseProvider(entry.name(), pools.database(entry.database().storage()),
        entry.database(), STORE_TIMEOUT_MS));
  }

  private Future<Provider> webhook(AuthProviderConfig entry) {
    if (http == null) {
      http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setKeepAlive(true));
    }
    return Future.succeededFuture(new WebhookProvider(entry.name(), http, entry.webhook()));
  }

  Future<Provider> create(AuthProviderConfig entry) {
    Future<Provider> base;
    try {
      base = base(entry);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture("auth.pipeline " + entry.name() + ": " + e.getMessage());
    }
    ScriptConfig post = entry.script();
    if (!"lua".equals(entry.type()) && post.enabled() && post.hasSource()) {
      return base.compose(provider -> compile(post, entry.name())
          .map(script -> new ScriptedProvider(provider, new AuthScript(script, sandbox))));
    }
    return base;
  }

  private Future<Provider> base(AuthProviderConfig entry) {
    return switch (entry.type()) {
      case "redis" -> redis(entry);
      case "database" -> database(entry);
      case "webhook" -> webhook(entry);
      case "builtin" -> Future.succeededFuture(new BuiltinProvider(entry.name(), vertx.eventBus(), STORE_TIMEOUT_MS));
      case "static" -> Future.succeededFuture(new StaticProvider(entry.name(), entry.staticConfig().keys(),
          vertx.eventBus(), STORE_TIMEOUT_MS));
      case "lua" -> compile(entry.lua(), entry.name())
          .map(script -> new LuaProvider(entry.name(), new AuthScript(script, sandbox)));
      default -> Future.failedFuture("auth.pipeline " + entry.name() + ": unknown provider type '" + entry.type() + "'");
    };
  }

  private Future<LuaScript> compile(ScriptConfig script, String providerName) {
    return ScriptLoader.load(vertx, script, "auth.pipeline " + providerName);
  }
}
