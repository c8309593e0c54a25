package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.AuthCheck;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/** {@code type: lua}: the script alone decides, with an empty {@code data}. */
public final class LuaProvider implements Provider {

  private final String name;
  private final AuthScript script;

  public LuaProvider(String name, AuthScript script) {
    this.name = name;
    this.script = script;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    return Future.succeededFuture(script.apply(check, new JsonObject()));
  }

  @Override
  public boolean dependsOnRequest() {
    return true;
  }
}
