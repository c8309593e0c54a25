package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import dev.llmproxy.usage.journal.JournalEntry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.llmproxy.launcher.GatewayProcesses.chat;
import static dev.llmproxy.launcher.GatewayProcesses.chatStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two members on loopback, each its own JVM started from the command line with one shared config file: the proxy
 * alone in one, auth, discovery, usage and admin in the other. The proxy member is authenticated by the other
 * member, its usage records are journaled there, and it lives through the services member's death and return.
 */
@ExtendWith(VertxExtension.class)
class ClusterProcessTest {

  private static final String TOKEN = "admin-token-0123456789";
  private static final String KEY_A = "sk-cluster-a-0123456789";
  private static final String KEY_B = "sk-cluster-b-0123456789";

  @Test
  void proxyMemberIsServedByTheServicesMemberAndSurvivesItsRestart(Vertx vertx, @TempDir Path dir) throws Exception {
    int proxyPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    int servicesCluster = RunningGateway.freePort();
    int proxyCluster = RunningGateway.freePort();
    Path journal = dir.resolve("journal");
    Path config = dir.resolve("config.yaml");
    try (MockLlmBackend backend = RunningGateway.await(MockLlmBackend.start(vertx, 0));
         GatewayProcesses members = new GatewayProcesses()) {
      Files.writeString(config, GatewayProcesses.gatewayYaml(proxyPort, backend.baseUrl())
          + GatewayProcesses.adminYaml(TOKEN, adminPort, dir) + """
          auth:
            enabled: true
            cache_ttl: 10m
            pipeline:
              - name: keys
                type: static
                static:
                  keys:
                    - key: "%s"
                      name: "A"
                    - key: "%s"
                      name: "B"
          usage:
            enabled: true
            journal_path: "%s"
            reporters:
              - name: store
                type: builtin
          """.formatted(KEY_A, KEY_B, journal)
          + GatewayProcesses.clusterYaml("cluster-test-" + proxyPort, servicesCluster, proxyCluster));
      Path servicesLog = dir.resolve("services.log");
      Process services = members.member(config, "auth,discovery,usage,admin", servicesCluster, servicesLog);
      GatewayProcesses.awaitJoined(servicesLog);
      Path proxyLog = dir.resolve("proxy.log");
      Process proxy = members.member(config, "proxy", proxyCluster, proxyLog);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      GatewayProcesses.awaitReady(http, proxyPort, proxyLog, servicesLog);

      // Authenticated by the auth verticle of the other member: a known key passes, an unknown one does not.
      assertEquals(200, chat(http, proxyPort, KEY_A, "cluster-req-1").statusCode(), GatewayProcessTest.read(proxyLog));
      assertEquals(401, chat(http, proxyPort, "sk-unknown-0123456789", "cluster-req-2").statusCode());
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> journaled(journal, "cluster-req-1") == 1),
          "the usage member never journaled the proxy member's record");

      JsonObject status = new JsonObject(http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + adminPort + "/admin/status"))
          .header("X-Admin-Token", TOKEN).build(), HttpResponse.BodyHandlers.ofString()).body());
      JsonArray running = status.getJsonObject("data").getJsonArray("members");
      assertEquals(2, running.size(), status.encodePrettily());
      List<String> roles = running.stream().map(m -> ((JsonObject) m).getJsonArray("roles").encode()).sorted().toList();
      assertEquals(List.of("[\"auth\",\"discovery\",\"usage\",\"admin\"]", "[\"proxy\"]"), roles);
      running.forEach(m -> assertEquals(1L, ((JsonObject) m).getLong("config_version"), status.encodePrettily()));

      // The services member dies: a key with no cached decision gets 503 auth_unavailable (never a hang), a key
      // whose decision is cached keeps working.
      services.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      HttpResponse<String> refused = chat(http, proxyPort, KEY_B, "cluster-req-3");
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals("auth_unavailable", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
      assertEquals(200, chat(http, proxyPort, KEY_A, "cluster-req-4").statusCode());
      assertEquals(1, journaled(journal, "cluster-req-1"), "journaled once");

      // It comes back: the proxy member, never restarted, is served again.
      Path againLog = dir.resolve("services-again.log");
      members.member(config, "auth,discovery,usage,admin", servicesCluster, againLog);
      assertTrue(Poll.until(Duration.ofSeconds(90), () -> chatStatus(http, proxyPort, KEY_B, "cluster-probe") == 200),
          "no recovery: " + GatewayProcessTest.read(proxyLog)
              + "\n--- services:\n" + GatewayProcessTest.read(againLog));
      assertTrue(proxy.isAlive());
    }
  }

  private static long journaled(Path journal, String requestId) {
    try {
      long count = 0;
      for (JournalEntry entry : Journal.readAll(journal)) {
        if (requestId.equals(entry.record().getString("request_id"))) {
          count++;
        }
      }
      return count;
    } catch (IOException e) {
      return -1;
    }
  }
}
