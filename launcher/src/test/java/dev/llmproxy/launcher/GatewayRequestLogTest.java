package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Row;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** logging.request as users configure it: the launcher deploys the request log, and a request becomes a row. */
class GatewayRequestLogTest {

  @Test
  void anAuthenticatedRequestBecomesARowWithTheKeyMasked(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    Vertx vertx = Gateway.createVertx(registry, GatewayConfig.defaults().metrics());
    MockLlmBackend backend = await(MockLlmBackend.start(vertx, 0));
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - url: "%s"
        storage:
          databases:
            - name: logs
              driver: sqlite
              path: "%s"
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
        logging:
          enabled: true
          request:
            enabled: true
            storage: logs
            include_body: true
        """.formatted(port, backend.baseUrl(), dir.resolve("logs.db")));
    LoadedConfig loaded = await(ConfigLoader.load(vertx, file.toString(), Map.of()));
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    Gateway gateway = await(Gateway.start(vertx, loaded.config(), registry));
    Pools pools = new Pools(vertx, loaded.config().storage());
    try {
      HttpResponse<String> answer = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
              .header("Authorization", "Bearer sk-good-0123456789")
              .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, answer.statusCode());

      SqlDatabase logs = pools.database("logs");
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> rows(logs) == 1));
      Row row = await(logs.pool().query("SELECT * FROM request_logs").execute()).iterator().next();
      assertEquals(answer.headers().firstValue("X-Request-ID").orElseThrow(), row.getString("request_id"));
      assertEquals("sk-...6789", row.getString("api_key"));
      assertEquals("alice", row.getString("user_id"));
      assertEquals("mock", row.getString("model"));
      assertEquals(answer.body(), row.getString("response_body"));
      assertFalse(row.getString("headers").contains("0123456789"), row.getString("headers"));
    } finally {
      await(gateway.stop());
      await(pools.close());
      backend.close();
      await(vertx.close());
    }
  }

  private static long rows(SqlDatabase database) {
    try {
      return await(database.pool().query("SELECT COUNT(*) AS n FROM request_logs").execute()).iterator().next().getLong("n");
    } catch (RuntimeException noTableYet) {
      return -1;
    }
  }

  private static <T> T await(Future<T> future) {
    return future.toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
  }
}
