package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code hooks}: the six lifecycle hooks, in the order a request meets them. */
public record HooksConfig(boolean enabled, ScriptConfig onRequest, ScriptConfig onAuth, ScriptConfig onRoute,
    ScriptConfig onResponse, ScriptConfig onError, ScriptConfig onComplete) {

  /** The hooks by their config name. */
  public Map<String, ScriptConfig> byName() {
    Map<String, ScriptConfig> hooks = new LinkedHashMap<>();
    hooks.put("on_request", onRequest);
    hooks.put("on_auth", onAuth);
    hooks.put("on_route", onRoute);
    hooks.put("on_response", onResponse);
    hooks.put("on_error", onError);
    hooks.put("on_complete", onComplete);
    return hooks;
  }

  static HooksConfig read(ConfigReader r) {
    return new HooksConfig(
        r.bool("enabled", false),
        hook(r, "on_request"),
        hook(r, "on_auth"),
        hook(r, "on_route"),
        hook(r, "on_response"),
        hook(r, "on_error"),
        hook(r, "on_complete"));
  }

  private static ScriptConfig hook(ConfigReader r, String name) {
    return r.section(name, s -> ScriptConfig.read(s, ScriptConfig.HOOK_DEFAULT));
  }

  public JsonObject toJson() {
    JsonObject out = new JsonObject().put("enabled", enabled);
    byName().forEach((name, hook) -> out.put(name, hook.toJson()));
    return out;
  }
}
