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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two members on loopback, each its own JVM started from the command line with one shared config file: the proxy
 * alone in one, auth, discovery, usage and admin in the other. The proxy member is authenticated by the other
 * member, its usage records are journaled there, and it lives through the services member's death and return.
 */
@ExtendWith(VertxExtension.class)
class ClusterProcessTest {

  /** Hazelcast's waits shortened for loopback (they are system properties Hazelcast reads itself). */
  static final List<String> QUICK_HAZELCAST = List.of("-Dhazelcast.wait.seconds.before.join=1",
      "-Dhazelcast.max.wait.seconds.before.join=2", "-Dhazelcast.heartbeat.interval.seconds=1",
      "-Dhazelcast.max.no.heartbeat.seconds=10", "-Dhazelcast.partition.count=23");

  private static final String KEY_A = "sk-cluster-a-0123456789";
  private static final String KEY_B = "sk-cluster-b-0123456789";

  @Test
  void proxyMemberIsServedByTheServicesMemberAndSurvivesItsRestart(Vertx vertx, @TempDir Path dir) throws Exception {
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    int proxyPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    int servicesCluster = RunningGateway.freePort();
    int proxyCluster = RunningGateway.freePort();
    Path journal = dir.resolve("journal");
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:%d"
        log:
          level: info
        backends:
          - name: mock
            url: "%s"
        admin:
          enabled: true
          token: "admin-token-0123456789"
          listen: "127.0.0.1:%d"
          db_path: "%s"
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
        cluster:
          name: "cluster-test-%d"
          members: ["127.0.0.1:%d", "127.0.0.1:%d"]
        """.formatted(proxyPort, backend.baseUrl(), adminPort, dir.resolve("keys.db"), KEY_A, KEY_B, journal,
        proxyPort, servicesCluster, proxyCluster));

    List<Process> started = new ArrayList<>();
    try {
      Path servicesLog = dir.resolve("services.log");
      started.add(member(config, "auth,discovery,usage,admin", servicesCluster, servicesLog));
      assertTrue(Poll.until(Duration.ofSeconds(90),
              () -> GatewayProcessTest.read(servicesLog).contains("cluster member ")),
          "services member never started: " + GatewayProcessTest.read(servicesLog));
      Path proxyLog = dir.resolve("proxy.log");
      Process proxy = member(config, "proxy", proxyCluster, proxyLog);
      started.add(proxy);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      assertTrue(Poll.until(Duration.ofSeconds(90), () -> GatewayProcessTest.status(http, proxyPort, "/ready") == 200),
          "proxy member never ready: " + GatewayProcessTest.read(proxyLog)
              + "\n--- services:\n" + GatewayProcessTest.read(servicesLog));

      // Authenticated by the auth verticle of the other member: a known key passes, an unknown one does not.
      assertEquals(200, chat(http, proxyPort, KEY_A, "cluster-req-1").statusCode(), GatewayProcessTest.read(proxyLog));
      assertEquals(401, chat(http, proxyPort, "sk-unknown-0123456789", "cluster-req-2").statusCode());
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> journaled(journal, "cluster-req-1") == 1),
          "the usage member never journaled the proxy member's record");

      JsonObject status = new JsonObject(http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + adminPort + "/admin/status"))
          .header("X-Admin-Token", "admin-token-0123456789").build(), HttpResponse.BodyHandlers.ofString()).body());
      JsonArray members = status.getJsonObject("data").getJsonArray("members");
      assertEquals(2, members.size(), status.encodePrettily());
      List<String> roles = members.stream().map(m -> ((JsonObject) m).getJsonArray("roles").encode()).sorted().toList();
      assertEquals(List.of("[\"auth\",\"discovery\",\"usage\",\"admin\"]", "[\"proxy\"]"), roles);
      members.forEach(m -> assertEquals(1L, ((JsonObject) m).getLong("config_version"), status.encodePrettily()));

      // The services member dies: a key with no cached decision gets 503 auth_unavailable (never a hang), a key
      // whose decision is cached keeps working.
      started.get(0).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      HttpResponse<String> refused = chat(http, proxyPort, KEY_B, "cluster-req-3");
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals("auth_unavailable", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
      assertEquals(200, chat(http, proxyPort, KEY_A, "cluster-req-4").statusCode());
      assertEquals(1, journaled(journal, "cluster-req-1"), "journaled once");

      // It comes back: the proxy member, never restarted, is served again.
      Path againLog = dir.resolve("services-again.log");
      started.add(member(config, "auth,discovery,usage,admin", servicesCluster, againLog));
      assertTrue(Poll.until(Duration.ofSeconds(90), () -> chatStatus(http, proxyPort, KEY_B) == 200),
          "no recovery: " + GatewayProcessTest.read(proxyLog)
              + "\n--- services:\n" + GatewayProcessTest.read(againLog));
      assertTrue(proxy.isAlive());
    } finally {
      started.forEach(Process::destroyForcibly);
      for (Process process : started) {
        process.waitFor(30, TimeUnit.SECONDS);
      }
      backend.close();
    }
  }

  /** One member: the shared file, its roles on the command line, its cluster port from the environment. */
  static Process member(Path config, String roles, int clusterPort, Path log) throws IOException {
    return member(config, roles, clusterPort, log, null);
  }

  /** @param workDir the member's working directory (relative script paths resolve there); null: the test's */
  static Process member(Path config, String roles, int clusterPort, Path log, Path workDir) throws IOException {
    return member(config, roles, clusterPort, log, workDir, Map.of());
  }

  /** @param env more of the member's environment ({@code LLMPROXY_*} overrides of its own, such as its listen address) */
  static Process member(Path config, String roles, int clusterPort, Path log, Path workDir, Map<String, String> env)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path")));
    command.addAll(QUICK_HAZELCAST);
    command.addAll(List.of(Main.class.getName(), "--config", config.toString(), "--cluster", "--roles", roles));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
        .directory(workDir == null ? null : workDir.toFile());
    builder.environment().putAll(Map.of("LLMPROXY_CLUSTER_PORT", Integer.toString(clusterPort),
        "LLMPROXY_CLUSTER_HOST", "127.0.0.1"));
    builder.environment().putAll(env);
    return builder.start();
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

  static HttpResponse<String> chat(HttpClient client, int port, String key, String requestId)
      throws IOException, InterruptedException {
    // Longer than the proxy's auth timeout: a hang fails the test, a 503 from the timeout does not.
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(40))
            .header("Authorization", "Bearer " + key).header("X-Request-ID", requestId)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static int chatStatus(HttpClient client, int port, String key) {
    try {
      return chat(client, port, key, "cluster-probe").statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
