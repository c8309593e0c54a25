package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.AuthCheck;
import io.vertx.core.Future;

/** A provider whose findings pass through its {@code script:} block (or legacy {@code lua_script}). */
public final class ScriptedProvider implements Provider {

  private final Provider inner;
  private final AuthScript script;

  public ScriptedProvider(Provider inner, AuthScript script) {
    this.inner = inner;
    this.script = script;
  }

  @Override
  public String name() {
    return inner.name();
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    return inner.lookup(check, keyHash)
        .map(found -> found instanceof Lookup.Found f ? script.apply(check, f.record()) : found);
  }

  @Override
  public boolean dependsOnRequest() {
    return true;
  }
}
