package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.adminSection;
import static dev.llmproxy.admin.AdminTesting.call;
import static dev.llmproxy.admin.AdminTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.LoadedConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /admin/backends}, {@code /admin/config}, {@code /admin/config/reload} and {@code /admin/status}. The test
 * answers for the discovery and proxy verticles on their addresses, as they would.
 */
@ExtendWith(VertxExtension.class)
class GatewayEndpointsTest {

  private static final String SECRETS_YAML = """
      server:
        listen: "127.0.0.1:18999"
      backends:
        - name: vllm
          url: "http://10.0.0.5:8000"
          headers:
            Authorization: "Bearer backend-secret-1"
            X-Team: "visible-team"
        - name: claude-direct
          url: "http://10.0.0.6:8000"
          provider: anthropic
          api_key: "backend-key-10"
      providers:
        - name: hosted
          type: openai
          api_key: "provider-key-11"
      storage:
        databases:
          - name: primary
            driver: postgres
            dsn: "postgres://llm:dsn-secret-2@db.internal:5432/llm?sslmode=disable"
          - name: other
            driver: mysql
            dsn: "llm:dsn-secret-3@tcp(db:3306)/llm"
          - name: kv
            driver: postgres
            dsn: "host=db user=llm password=dsn-secret-4 dbname=llm"
        caches:
          - name: primary
            driver: redis
            addr: "127.0.0.1:6379"
            password: "redis-secret-5"
      admin:
        enabled: true
        token: "%s"
        db_path: "%s"
      auth:
        enabled: true
        pipeline:
          - name: static_auth
            type: static
            static:
              keys:
                - key: "sk-static-secret-6"
                  name: "visible-name"
      usage:
        enabled: true
        reporters:
          - name: billing
            type: webhook
            webhook:
              url: "https://user:url-secret-7@billing.example.com/usage"
              headers:
                Authorization: "Bearer webhook-secret-8"
                X-Api-Key: "webhook-secret-9"
                X-Source: "visible-source"
      routing:
        retry:
          max_retries: %d
      """;

  @TempDir
  Path dir;

  private Path writeConfig(int maxRetries) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, SECRETS_YAML.formatted(AdminTesting.TOKEN, dir.resolve("keys.db"), maxRetries));
    return file;
  }

  private Future<String> deployFrom(Vertx vertx, Path file) {
    return ConfigLoader.load(vertx, file.toString(), Map.of()).compose(loaded -> {
      if (!loaded.ok()) {
        return Future.failedFuture(String.join("; ", loaded.errors()));
      }
      dev.llmproxy.common.verticle.JvmResources.of(vertx).put(LaunchInfo.class, new LaunchInfo(file.toString(), "9.8.7"));
      return vertx.deployVerticle(new AdminVerticle(loaded.config()));
    });
  }

  private static Future<AdminCall.Response> get(Vertx vertx, String path) {
    return AdminTesting.call(vertx, "GET", path, AdminTesting.TOKEN, "");
  }

  @Test
  void theConfigIsShownWithEverySecretRedacted(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path file = writeConfig(3);
    deployFrom(vertx, file)
        .compose(id -> get(vertx, "/admin/config"))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertEquals(200, answer.status(), answer.body());
          String body = answer.body();
          for (String secret : List.of(AdminTesting.TOKEN, "backend-secret-1", "dsn-secret-2", "dsn-secret-3",
              "dsn-secret-4", "redis-secret-5", "sk-static-secret-6", "url-secret-7", "webhook-secret-8",
              "webhook-secret-9", "backend-key-10", "provider-key-11")) {
            assertFalse(body.contains(secret), secret + " leaked: " + body);
          }
          for (String visible : List.of("visible-team", "visible-name", "visible-source", "db.internal:5432",
              "tcp(db:3306)", "billing.example.com", "127.0.0.1:18999")) {
            assertTrue(body.contains(visible), visible + " should stay: " + body);
          }
          JsonObject config = json(answer).getJsonObject("data");
          assertEquals("***", config.getJsonObject("admin").getString("token"));
          assertEquals("postgres://llm:***@db.internal:5432/llm?sslmode=disable",
              config.getJsonObject("storage").getJsonArray("databases").getJsonObject(0).getString("dsn"));
          ctx.completeNow();
        })));
  }

  /** The reload itself is the launcher's (tested in launcher's GatewayReloadTest); alone, admin says it cannot. */
  @Test
  void reloadWithoutALauncherSaysItIsNotAvailableAndClaimsNothing(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path file = writeConfig(3);
    List<JsonObject> published = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.CONFIG_CHANGED, m -> published.add(m.body()));
    deployFrom(vertx, file)
        .compose(id -> call(vertx, "/admin/config/reload", null))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertEquals(503, answer.status(), answer.body());
          assertFalse(json(answer).getBoolean("success"));
          assertTrue(json(answer).getString("error").contains("not available"), answer.body());
          assertTrue(published.isEmpty());
          ctx.completeNow();
        })));
  }

  @Test
  void backendsMergeDiscoverysSnapshotWithTheProxysStats(Vertx vertx, VertxTestContext ctx) {
    JsonObject snapshot = new JsonObject().put("version", 4).put("backends", new JsonArray()
        .add(new JsonObject().put("name", "a").put("url", "http://a:8000").put("weight", 2).put("healthy", true)
            .put("headers", new JsonObject().put("Authorization", "Bearer backend-secret").put("X-Team", "t")))
        .add(new JsonObject().put("name", "b").put("url", "http://b:8000").put("weight", 1).put("healthy", false)));
    JsonObject stats = new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "a").put("url", "http://a:8000").put("in_flight", 3).put("latency_ms", 41.5)
            .put("ejected", false).put("healthy", true)));
    vertx.eventBus().consumer(Addresses.BACKENDS_CURRENT, m -> m.reply(snapshot));
    AdminTesting.deploy(vertx, adminSection(dir))
        .compose(id -> get(vertx, "/admin/backends"))
        .compose(merged -> {
          ctx.verify(() -> {
            assertEquals(200, merged.status(), merged.body());
            JsonObject data = json(merged).getJsonObject("data");
            assertFalse(data.getBoolean("live_stats"), "no proxy answered");
            assertEquals(2, data.getJsonArray("backends").size());
            assertFalse(merged.body().contains("backend-secret"));
          });
          vertx.eventBus().consumer(Addresses.BACKENDS_STATS, m -> m.reply(stats));
          return get(vertx, "/admin/backends");
        })
        .onComplete(ctx.succeeding(merged -> ctx.verify(() -> {
          JsonObject data = json(merged).getJsonObject("data");
          assertTrue(data.getBoolean("live_stats"));
          assertEquals(4, data.getInteger("version"));
          JsonObject a = data.getJsonArray("backends").getJsonObject(0);
          assertEquals(3, a.getInteger("in_flight"));
          assertEquals(41.5, a.getDouble("latency_ms"));
          assertEquals(2, a.getInteger("weight"));
          assertEquals("***", a.getJsonObject("headers").getString("Authorization"));
          assertEquals("t", a.getJsonObject("headers").getString("X-Team"));
          JsonObject b = data.getJsonArray("backends").getJsonObject(1);
          assertFalse(b.getBoolean("healthy"));
          assertNull(b.getValue("in_flight"), "the proxy has not seen b");
          ctx.completeNow();
        })));
  }

  @Test
  void withoutDiscoveryBackendsIs503(Vertx vertx, VertxTestContext ctx) {
    AdminTesting.deploy(vertx, adminSection(dir))
        .compose(id -> get(vertx, "/admin/backends"))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertEquals(503, answer.status(), answer.body());
          assertFalse(json(answer).getBoolean("success"));
          ctx.completeNow();
        })));
  }

  @Test
  void statusNamesVersionUptimeAndDeployments(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path file = writeConfig(3);
    deployFrom(vertx, file)
        .compose(id -> get(vertx, "/admin/status"))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertEquals(200, answer.status(), answer.body());
          JsonObject data = json(answer).getJsonObject("data");
          assertEquals("9.8.7", data.getString("version"));
          assertTrue(data.getLong("uptime_seconds") >= 0);
          assertEquals(1, data.getInteger("verticles"));
          assertEquals("AdminVerticle", data.getJsonArray("deployments").getJsonObject(0).getString("verticle"));
          assertFalse(data.getBoolean("clustered"));
          assertEquals(new JsonArray(), data.getJsonArray("cluster_members"));
          assertEquals(file.toString(), data.getString("config_path"));
          ctx.completeNow();
        })));
  }

  @Test
  void wrongMethodsUnknownPathsAndNoFileAre4xx(Vertx vertx, VertxTestContext ctx) {
    AdminTesting.deploy(vertx, adminSection(dir))
        .compose(id -> Future.all(List.of(
            AdminTesting.call(vertx, "POST", "/admin/status", AdminTesting.TOKEN, "{}"),
            AdminTesting.call(vertx, "GET", "/admin/config/reload", AdminTesting.TOKEN, ""),
            AdminTesting.call(vertx, "GET", "/admin/keys/sync", AdminTesting.TOKEN, ""),
            AdminTesting.call(vertx, "GET", "/admin/usage", AdminTesting.TOKEN, ""),
            AdminTesting.call(vertx, "GET", "/admin/config", null, ""),
            call(vertx, "/admin/config/reload", null))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          int[] expected = {405, 405, 405, 404, 401, 400};
          for (int i = 0; i < expected.length; i++) {
            AdminCall.Response response = all.resultAt(i);
            assertEquals(expected[i], response.status(), "call " + i + ": " + response.body());
            assertFalse(json(response).getBoolean("success"));
            assertFalse(json(response).getString("error").isEmpty());
          }
          ctx.completeNow();
        })));
  }
}
