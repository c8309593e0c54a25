package dev.llmproxy.auth;

import dev.llmproxy.auth.provider.AuthScript;
import dev.llmproxy.auth.provider.LuaProvider;
import dev.llmproxy.auth.provider.Provider;
import dev.llmproxy.auth.provider.ScriptedProvider;
import dev.llmproxy.auth.provider.StaticProvider;
import dev.llmproxy.common.config.AuthProviderConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LuaSandbox;
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
  private final LuaSandbox sandbox;

  ProviderFactory(Vertx vertx, GatewayConfig config, LuaSandbox sandbox) {
    this.vertx = vertx;
    this.config = config;
    this.sandbox = sandbox;
  }

  Future<Provider> create(AuthProviderConfig entry) {
    Future<Provider> base = switch (entry.type()) {
      case "static" -> Future.succeededFuture(new StaticProvider(entry.name(), entry.staticConfig().keys()));
      case "lua" -> compile(entry.lua(), entry.name())
          .map(script -> new LuaProvider(entry.name(), new AuthScript(script, sandbox)));
      default -> Future.failedFuture("auth.pipeline " + entry.name() + ": unknown provider type '" + entry.type() + "'");
    };
    ScriptConfig post = entry.script();
    if (!"lua".equals(entry.type()) && post.enabled() && post.hasSource()) {
      return base.compose(provider -> compile(post, entry.name())
          .map(script -> new ScriptedProvider(provider, new AuthScript(script, sandbox))));
    }
    return base;
  }

  private Future<LuaScript> compile(ScriptConfig script, String providerName) {
    if (!script.hasSource()) {
      return Future.failedFuture("auth.pipeline " + providerName + ": the lua provider has neither path nor script");
    }
    Future<String> source = script.path().isEmpty()
        ? Future.succeededFuture(script.script())
        : vertx.fileSystem().readFile(script.path()).map(buffer -> buffer.toString());
    String name = script.path().isEmpty() ? providerName + ".lua" : script.path();
    return source
        .recover(e -> Future.failedFuture("auth.pipeline " + providerName + ": cannot read " + name + ": " + e.getMessage()))
        .compose(text -> vertx.executeBlocking(() -> LuaSandbox.compile(name, text, script.timeout(), script.maxMemory())));
  }
}
