package dev.llmproxy.auth;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/** Deploys the real verticle from a config document and asks it over the event bus, as the proxy does. */
final class AuthTesting {

  private AuthTesting() {
  }

  static GatewayConfig config(JsonObject raw) {
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    if (!loaded.ok()) {
      throw new AssertionError("test config invalid: " + loaded.errors());
    }
    return loaded.config();
  }

  /** {@code auth} enabled with the given pipeline and extra top-level sections (storage...). */
  static GatewayConfig authConfig(String mode, JsonObject... pipeline) {
    io.vertx.core.json.JsonArray entries = new io.vertx.core.json.JsonArray();
    for (JsonObject p : pipeline) {
      entries.add(p);
    }
    return config(new JsonObject().put("auth", new JsonObject().put("enabled", true).put("mode", mode)
        .put("pipeline", entries)));
  }

  static Future<String> deploy(Vertx vertx, GatewayConfig config) {
    return vertx.deployVerticle(() -> new AuthVerticle(config), new io.vertx.core.DeploymentOptions());
  }

  static Future<AuthDecision> ask(Vertx vertx, String key) {
    return ask(vertx, key, "127.0.0.1");
  }

  static Future<AuthDecision> ask(Vertx vertx, String key, String ip) {
    AuthCheck check = new AuthCheck(key, ip, "POST", "/v1/chat/completions", "gpt-test", Map.of("x-test", "1"));
    return vertx.eventBus().<JsonObject>request(Addresses.AUTH_CHECK, check.toJson())
        .map(m -> AuthDecision.fromJson(m.body()));
  }

  static JsonObject staticProvider(String name, JsonObject... keys) {
    io.vertx.core.json.JsonArray list = new io.vertx.core.json.JsonArray();
    for (JsonObject k : keys) {
      list.add(k);
    }
    return new JsonObject().put("name", name).put("type", "static")
        .put("static", new JsonObject().put("keys", list));
  }

  /**
   * Answers {@link Addresses#KEYS_USAGE} as the static keys' ledger does (the admin store, or the usage verticle's
   * memory, neither of which this module may deploy): {@code usage} by key hash, null for a key never charged.
   */
  static Future<Void> staticUsageLedger(Vertx vertx, Map<String, JsonObject> usage) {
    return vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_USAGE,
        m -> m.reply(usage.get(m.body().getString(dev.llmproxy.common.bus.KeyLookup.KEY_HASH)))).completion();
  }

  static JsonObject key(String key) {
    return new JsonObject().put("key", key).put("name", "name-" + key).put("user_id", "user-" + key);
  }
}
