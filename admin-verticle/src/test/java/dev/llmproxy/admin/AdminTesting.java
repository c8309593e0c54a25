package dev.llmproxy.admin;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;

/** Config, deployment and calls through the bus relay, shared by the admin tests. */
final class AdminTesting {

  static final String TOKEN = "admin-secret-token";

  private AdminTesting() {
  }

  static JsonObject adminSection(Path dir) {
    return new JsonObject().put("enabled", true).put("token", TOKEN)
        .put("db_path", dir.resolve("nested/data/keys.db").toString());
  }

  static GatewayConfig config(JsonObject admin) {
    return rootConfig(new JsonObject().put("admin", admin));
  }

  /** A whole config document (admin section included). */
  static GatewayConfig rootConfig(JsonObject root) {
    LoadedConfig loaded = ConfigLoader.parse(root, Map.of());
    if (!loaded.ok()) {
      throw new IllegalArgumentException(String.join("; ", loaded.errors()));
    }
    return loaded.config();
  }

  static Future<String> deploy(Vertx vertx, JsonObject admin) {
    return vertx.deployVerticle(new AdminVerticle(config(admin)));
  }

  /** Usage reporters with one builtin reporter keeping records {@code retentionDays}. */
  static JsonObject builtinReporter(int retentionDays) {
    return new JsonObject().put("enabled", true).put("reporters", new io.vertx.core.json.JsonArray()
        .add(new JsonObject().put("name", "local").put("type", "builtin")
            .put("builtin", new JsonObject().put("retention_days", retentionDays))));
  }

  /** A POST through the relay, as the proxy sends it. */
  static Future<AdminCall.Response> call(Vertx vertx, String path, JsonObject body) {
    return call(vertx, "POST", path, TOKEN, body == null ? "" : body.encode());
  }

  static Future<AdminCall.Response> call(Vertx vertx, String method, String path, String token, String body) {
    Map<String, String> headers = token == null ? Map.of() : Map.of("x-admin-token", token);
    AdminCall.Request request = new AdminCall.Request(method, path, "", headers, body, "127.0.0.1");
    return vertx.eventBus().<JsonObject>request(Addresses.ADMIN_HTTP, request.toJson())
        .map(reply -> AdminCall.Response.fromJson(reply.body()));
  }

  static JsonObject json(AdminCall.Response response) {
    return new JsonObject(response.body());
  }
}
