package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Admin, auth and proxy together: a key made through the admin API works at once and dies at once. */
class GatewayAdminTest {

  private static final String TOKEN = "admin-token-for-tests";
  private final HttpClient http = HttpClient.newHttpClient();
  private Vertx vertx;
  private Gateway gateway;
  private int port;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aKeyCreatedThroughTheAdminApiWorksAndADeletedOneIsRefusedWithin100ms(@TempDir Path dir) throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    vertx = Gateway.createVertx(registry, dev.llmproxy.common.config.GatewayConfig.defaults().metrics());
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - url: "%s"
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        auth:
          enabled: true
          pipeline:
            - name: builtin_auth
              type: builtin
        """.formatted(port, backend.baseUrl(), TOKEN, dir.resolve("keys.db")));
    LoadedConfig loaded = ConfigLoader.load(vertx, config.toString(), Map.of()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    gateway = Gateway.start(vertx, loaded.config(), registry).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);

    HttpResponse<String> created = admin("/admin/keys/create", "{\"name\":\"e2e\",\"user_id\":\"u1\"}");
    assertEquals(200, created.statusCode(), created.body());
    String key = new JsonObject(created.body()).getJsonObject("data").getString("key");
    assertTrue(key.startsWith("sk-"), created.body());

    assertEquals(200, chat(key).statusCode());
    assertEquals(401, chat(key + "x").statusCode());

    assertEquals(200, admin("/admin/keys/delete", new JsonObject().put("key", key).encode()).statusCode());
    long deletedAt = System.nanoTime();
    assertTrue(Poll.until(Duration.ofMillis(100), () -> status(key) == 401), "the deleted key still worked after 100 ms");
    assertTrue((System.nanoTime() - deletedAt) / 1_000_000 < 100);
  }

  @Test
  void backendsStatusAndReloadThroughTheWholeGateway(@TempDir Path dir) throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    vertx = Gateway.createVertx(registry, dev.llmproxy.common.config.GatewayConfig.defaults().metrics());
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - name: mock
            url: "%s"
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        """.formatted(port, backend.baseUrl(), TOKEN, dir.resolve("keys.db")));
    LoadedConfig loaded = ConfigLoader.load(vertx, config.toString(), Map.of()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    gateway = Gateway.start(vertx, loaded.config(), registry, config.toString()).toCompletionStage()
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(200, chat("no-auth-configured").statusCode());

    HttpResponse<String> backends = adminGet("/admin/backends");
    assertEquals(200, backends.statusCode(), backends.body());
    JsonObject data = new JsonObject(backends.body()).getJsonObject("data");
    assertTrue(data.getBoolean("live_stats"), backends.body());
    JsonObject mock = data.getJsonArray("backends").getJsonObject(0);
    assertEquals("mock", mock.getString("name"));
    assertEquals(0, mock.getInteger("in_flight"));
    assertTrue(mock.getDouble("latency_ms") >= 0, backends.body());

    HttpResponse<String> status = adminGet("/admin/status");
    assertEquals(200, status.statusCode(), status.body());
    JsonObject running = new JsonObject(status.body()).getJsonObject("data");
    assertTrue(running.getInteger("verticles") >= 5, status.body());
    assertTrue(running.getJsonArray("deployments").stream()
        .anyMatch(d -> "ProxyVerticle".equals(((JsonObject) d).getString("verticle"))), status.body());

    Files.writeString(config, Files.readString(config) + "routing:\n  timeout: 42s\n");
    HttpResponse<String> reloaded = admin("/admin/config/reload", "");
    assertEquals(200, reloaded.statusCode(), reloaded.body());
    HttpResponse<String> shown = adminGet("/admin/config");
    assertEquals("42s", new JsonObject(shown.body()).getJsonObject("data").getJsonObject("routing").getString("timeout"));
    assertTrue(!shown.body().contains(TOKEN), "the admin token is redacted");
  }

  private HttpResponse<String> adminGet(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("X-Admin-Token", TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> admin(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("X-Admin-Token", TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> chat(String key) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private int status(String key) {
    try {
      return chat(key).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }
}
