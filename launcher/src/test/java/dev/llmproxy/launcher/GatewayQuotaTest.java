package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
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

/**
 * The billing loop through every verticle: a builtin key's requests are journaled, stored in the admin's
 * {@code usage_records}, charged to its {@code used_quota}, and once the quota is used up auth refuses the key.
 */
class GatewayQuotaTest {

  private static final String TOKEN = "admin-token-for-quota";
  /** MockLlmBackend reports 7 prompt tokens and max_tokens completion tokens. */
  private static final int TOKENS_PER_REQUEST = MockLlmBackend.PROMPT_TOKENS + 5;

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
  void usageIsStoredChargedAndTheUsedUpKeyIsRefused(@TempDir Path dir) throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    vertx = Gateway.createVertx(registry, GatewayConfig.defaults().metrics());
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
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
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: store
              type: builtin
              enabled: true
        """.formatted(port, backend.baseUrl(), TOKEN, dir.resolve("keys.db"), dir.resolve("journal")));
    LoadedConfig loaded = ConfigLoader.load(vertx, config.toString(), Map.of()).toCompletionStage()
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    gateway = Gateway.start(vertx, loaded.config(), registry).toCompletionStage().toCompletableFuture()
        .get(30, TimeUnit.SECONDS);

    // Room for two requests and a bit: the third starts under the limit, the fourth finds it used up.
    long quota = 2L * TOKENS_PER_REQUEST + 1;
    HttpResponse<String> created = admin("/admin/keys/create",
        new JsonObject().put("name", "billing").put("user_id", "u-bill").put("total_quota", quota).encode());
    assertEquals(200, created.statusCode(), created.body());
    String key = new JsonObject(created.body()).getJsonObject("data").getString("key");

    for (int i = 1; i <= 3; i++) {
      assertEquals(200, chat(key).statusCode(), "request " + i + " is within the quota");
      long expected = (long) i * TOKENS_PER_REQUEST;
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> usedQuota(key) == expected),
          "used_quota reaches " + expected + ", is " + usedQuota(key));
    }

    HttpResponse<String> refused = chat(key);
    assertEquals("quota_exceeded", new JsonObject(refused.body()).getJsonObject("error").getString("code"),
        refused.body());
    assertTrue(refused.statusCode() == 429 || refused.statusCode() == 403, refused.body());

    JsonObject totals = new JsonObject();
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
      totals.mergeIn(usageTotals(key));
      return totals.getLong("total_tokens", 0L) == 3L * TOKENS_PER_REQUEST;
    }), "usage_records holds the three answered requests' tokens: " + totals);
    assertEquals(3L * MockLlmBackend.PROMPT_TOKENS, totals.getLong("prompt_tokens"), totals.encode());
  }

  private long usedQuota(String key) {
    try {
      HttpResponse<String> got = admin("/admin/keys/get", new JsonObject().put("key", key).encode());
      return new JsonObject(got.body()).getJsonObject("data").getLong("used_quota", -1L);
    } catch (Exception e) {
      return -1;
    }
  }

  private JsonObject usageTotals(String key) {
    try {
      HttpResponse<String> answer = admin("/admin/usage/query", new JsonObject().put("key", key).encode());
      return new JsonObject(answer.body()).getJsonObject("data").getJsonObject("totals");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  private HttpResponse<String> admin(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("X-Admin-Token", TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> chat(String key) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
