package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The proxy and the auth verticle together, as the launcher deploys them, configured as users write it. */
class GatewayAuthTest {

  private static Vertx vertx;
  private static Gateway gateway;
  private static MockLlmBackend backend;
  private static int port;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    String yaml = """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - url: "%s"
        auth:
          enabled: true
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: "sk-good-0123456789"
                    name: "Team A"
                    user_id: "alice"
                  - key: "sk-off-0123456789"
                    status: "disabled"
        """;
    vertx = Gateway.createVertx(registry, dev.llmproxy.common.config.GatewayConfig.defaults().metrics());
    backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    java.nio.file.Path file = java.nio.file.Files.createTempFile("auth", ".yaml");
    java.nio.file.Files.writeString(file, yaml.formatted(port, backend.baseUrl()));
    LoadedConfig loaded = ConfigLoader.load(vertx, file.toString(), Map.of()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    gateway = Gateway.start(vertx, loaded.config(), registry).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> chat(String key) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}"));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aValidKeyPassesAndIsNotForwarded() throws Exception {
    assertEquals(200, chat("sk-good-0123456789").statusCode());
    assertEquals(null, backend.received().get(backend.received().size() - 1).headers().get("Authorization"));
  }

  @Test
  void anUnknownKeyIs401AndADisabledOne403() throws Exception {
    HttpResponse<String> unknown = chat("sk-nope-0123456789");
    assertEquals(401, unknown.statusCode());
    assertEquals("invalid_api_key", new JsonObject(unknown.body()).getJsonObject("error").getString("code"));
    HttpResponse<String> disabled = chat("sk-off-0123456789");
    assertEquals(403, disabled.statusCode());
    assertEquals("API Key is disabled", new JsonObject(disabled.body()).getJsonObject("error").getString("message"));
    assertEquals(401, chat(null).statusCode());
  }

  @Test
  void healthNeedsNoKey() throws Exception {
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
  }
}
