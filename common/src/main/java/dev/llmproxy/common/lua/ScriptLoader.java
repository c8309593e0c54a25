package dev.llmproxy.common.lua;

import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.util.FileErrors;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

/**
 * Reads a {@code script:} block's source (its file, or the inline text) and compiles it off the event loop.
 * Done by {@code validate}, at start and on config reload, never per request. A relative {@code path} is resolved
 * the way Vert.x's file system resolves it: against the working directory of the process.
 */
public final class ScriptLoader {

  private ScriptLoader() {
  }

  /**
   * @param owner the config path of the block, for error messages ({@code routing.script})
   * @return the compiled script, or a failure whose message is {@code owner: what is wrong} (the file and, for a
   *     syntax error, the line) and never an exception's text
   */
  public static Future<LuaScript> load(Vertx vertx, ScriptConfig script, String owner) {
    if (!script.hasSource()) {
      return Future.failedFuture(owner + ": neither path nor script is set");
    }
    Future<String> source = script.path().isEmpty()
        ? Future.succeededFuture(script.script())
        : vertx.fileSystem().readFile(script.path()).map(Buffer::toString);
    String name = script.path().isEmpty() ? owner : script.path();
    return source
        .recover(e -> Future.failedFuture(owner + ": cannot read " + name + ": " + FileErrors.describe(e)))
        .compose(text -> vertx.executeBlocking(() -> LuaSandbox.compile(name, text, script.timeout(), script.maxMemory()))
            .recover(e -> Future.failedFuture(compileFailure(owner, name, e))));
  }

  /** Inline source is named after its block, so its message already starts with the owner: not said twice. */
  private static String compileFailure(String owner, String name, Throwable e) {
    String message = e instanceof LuaScriptException ? e.getMessage() : name + ": does not compile";
    return message.startsWith(owner) ? message : owner + ": " + message;
  }
}
