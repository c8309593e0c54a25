package dev.llmproxy.common.lua;

import dev.llmproxy.common.config.ScriptConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Reads a {@code script:} block's source (its file, or the inline text) and compiles it off the event loop.
 * Done at start and on config reload, never per request.
 */
public final class ScriptLoader {

  private ScriptLoader() {
  }

  /** @param owner the config path of the block, for error messages ({@code routing.script}) */
  public static Future<LuaScript> load(Vertx vertx, ScriptConfig script, String owner) {
    if (!script.hasSource()) {
      return Future.failedFuture(owner + ": neither path nor script is set");
    }
    Future<String> source = script.path().isEmpty()
        ? Future.succeededFuture(script.script())
        : vertx.fileSystem().readFile(script.path()).map(Object::toString);
    String name = script.path().isEmpty() ? owner : script.path();
    return source
        .recover(e -> Future.failedFuture(owner + ": cannot read " + name + ": " + e.getMessage()))
        .compose(text -> vertx.executeBlocking(() -> LuaSandbox.compile(name, text, script.timeout(), script.maxMemory())));
  }
}
