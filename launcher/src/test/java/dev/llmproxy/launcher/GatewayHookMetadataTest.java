package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.Poll;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code metadata} that {@code on_request} and {@code on_auth} return, through the whole gateway: {@code on_auth}
 * sees what {@code on_request} added, and both land in the usage record a webhook reporter receives and the builtin
 * store keeps.
 */
class GatewayHookMetadataTest {

  private static final String KEY = "sk-metadata-team-key-0001";

  @Test
  void theHooksMetadataReachesTheWebhookAndTheBuiltinStore(@TempDir Path dir) throws Exception {
    List<JsonObject> received = new CopyOnWriteArrayList<>();
    // The receiver lives on a Vert.x of its own: it is up before the gateway that reports to it.
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      HttpServer receiver = RunningGateway.await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1"))
          .requestHandler(request -> request.body().onSuccess(body -> {
            received.add(body.toJsonObject());
            request.response().end("ok");
          }))
          .listen(0));
      try (RunningGateway gateway = RunningGateway.start(dir, config(dir, receiver.actualPort()))) {
        HttpResponse<String> answer = gateway.chat(KEY,
            "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, answer.statusCode(), answer.body());
        String requestId = answer.headers().firstValue("X-Request-ID").orElseThrow();

        assertTrue(Poll.until(Duration.ofSeconds(20), () -> !received.isEmpty()), "the webhook got no record");
        JsonObject record = received.get(0);
        assertEquals(requestId, record.getString("request_id"));
        JsonObject metadata = record.getJsonObject("metadata");
        assertEquals("blue", metadata.getString("team"), record.encode());
        assertEquals("blue", metadata.getString("seen_by_on_auth"), "on_auth saw on_request's metadata: " + record);
        assertEquals("Team key", metadata.getString("key_name"), record.encode());

        String[] stored = new String[1];
        assertTrue(Poll.until(Duration.ofSeconds(20), () -> (stored[0] = storedMetadata(dir, requestId)) != null),
            "the builtin store has no row for " + requestId);
        assertEquals(metadata, new JsonObject(stored[0]));
      }
    } finally {
      RunningGateway.await(vertx.close());
    }
  }

  private static String storedMetadata(Path dir, String requestId) {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("admin.db"));
         ResultSet row = db.createStatement()
             .executeQuery("SELECT metadata FROM usage_records WHERE request_id = '" + requestId + "'")) {
      return row.next() ? row.getString(1) : null;
    } catch (Exception notYet) {
      return null;
    }
  }

  private static String config(Path dir, int receiverPort) {
    return """
        server:
          listen: "{listen}"
        backends:
          - url: "{backend}"
        admin:
          enabled: true
          token: "admin-token-for-metadata"
          db_path: "%s"
        auth:
          enabled: true
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "Team key"
                    user_id: "user_7"
        hooks:
          enabled: true
          on_request:
            enabled: true
            script: |
              return { continue = true, metadata = { team = "blue" } }
          on_auth:
            enabled: true
            script: |
              return { continue = true,
                       metadata = { seen_by_on_auth = request.metadata.team, key_name = auth_result.key_name } }
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: billing
              type: webhook
              webhook:
                url: "http://127.0.0.1:%d/usage"
            - name: store
              type: builtin
        """.formatted(dir.resolve("admin.db"), KEY, dir.resolve("journal"), receiverPort);
  }
}
