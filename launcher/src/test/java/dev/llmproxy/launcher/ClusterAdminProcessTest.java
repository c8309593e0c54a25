package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two member JVMs on loopback, each running a proxy (on its own port): the first also runs auth, discovery, usage
 * and admin. {@code /admin/backends} lists each proxy member's own view; two reloads asked for at once on the two
 * members (a {@code POST} on the first, SIGHUP on the second) run one after the other, never interleaved. (A member
 * that does not answer: {@link ClusterBackendsViewTest}; a frozen process also stalls the cluster manager's lookups
 * of the addresses it owns, which says nothing about the admin API.)
 */
@ExtendWith(VertxExtension.class)
class ClusterAdminProcessTest {

  private static final String TOKEN = "admin-token-9876543210";
  private static final String KEY = "sk-admin-view-0123456789";

  @Test
  void everyProxyMemberIsListedAndConcurrentReloadsOnTwoMembersRunOneAfterTheOther(Vertx vertx,
      @TempDir Path dir) throws Exception {
    int firstPort = RunningGateway.freePort();
    int secondPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    int firstCluster = RunningGateway.freePort();
    int secondCluster = RunningGateway.freePort();
    Path config = dir.resolve("config.yaml");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Path firstLog = dir.resolve("first.log");
    Path secondLog = dir.resolve("second.log");
    try (MockLlmBackend backend = RunningGateway.await(MockLlmBackend.start(vertx, 0));
         GatewayProcesses processes = new GatewayProcesses()) {
      // {more_backends} is where a test adds to the list of backends.
      String base = GatewayProcesses.gatewayYaml(firstPort, backend.baseUrl()) + "{more_backends}"
          + GatewayProcesses.adminYaml(TOKEN, adminPort, dir) + """
          usage:
            journal_path: "%s"
          reload:
            lock_timeout: 8s
          """.formatted(dir.resolve("journal"))
          + GatewayProcesses.clusterYaml("admin-view-test-" + firstPort, firstCluster, secondCluster);
      Files.writeString(config, base.replace("{more_backends}", ""));
      // Each member's proxy listens on a port of its own: an override of each member's, kept across reloads (a
      // member applies a reload read elsewhere with its own overrides).
      processes.member(config, "proxy,auth,discovery,usage,admin", firstCluster, firstLog,
          Files.createDirectories(dir.resolve("first")), Map.of("LLMPROXY_SERVER_LISTEN", "127.0.0.1:" + firstPort));
      Process second = processes.member(config, "proxy", secondCluster, secondLog,
          Files.createDirectories(dir.resolve("second")),
          Map.of("LLMPROXY_SERVER_LISTEN", "127.0.0.1:" + secondPort));
      for (int port : new int[] {firstPort, secondPort}) {
        GatewayProcesses.awaitReady(http, port, firstLog, secondLog);
        assertEquals(200, GatewayProcesses.chat(http, port, KEY, "view-" + port).statusCode());
      }

      // Each proxy member's own view, by member.
      JsonArray members = backends(http, adminPort, TOKEN).getJsonArray("members");
      assertEquals(2, members.size(), members.encode());
      assertNotEquals(members.getJsonObject(0).getString("node_id"), members.getJsonObject(1).getString("node_id"));
      for (Object o : members) {
        JsonObject member = (JsonObject) o;
        assertEquals(Boolean.TRUE, member.getBoolean("reachable"), members.encode());
        assertEquals(backend.baseUrl(), member.getJsonArray("backends").getJsonObject(0).getString("url"),
            members.encode());
      }

      // Two reloads at once, one on each member: the cluster's reload lock runs them one after the other, so one
      // applies the change on both members and the other finds nothing left to change on either.
      Files.writeString(config, base.replace("{more_backends}", "") + "routing:\n  timeout: 41s\n");
      CompletableFuture<HttpResponse<String>> posted = http.sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/config/reload"))
              .timeout(Duration.ofSeconds(150)).header("X-Admin-Token", TOKEN)
              .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      new ProcessBuilder("kill", "-HUP", Long.toString(second.pid())).start().waitFor(10, TimeUnit.SECONDS);
      HttpResponse<String> reply = posted.get(150, TimeUnit.SECONDS);
      assertEquals(200, reply.statusCode(), reply.body());
      JsonObject byPost = new JsonObject(reply.body()).getJsonObject("data");
      assertTrue(Poll.until(Duration.ofSeconds(120), () -> GatewayProcessTest.read(secondLog).contains("SIGHUP reload")),
          "no SIGHUP outcome: " + GatewayProcessTest.read(secondLog));
      String line = GatewayProcessTest.read(secondLog).lines().filter(l -> l.contains("SIGHUP reload")).findFirst()
          .orElseThrow();
      assertTrue(line.contains("SIGHUP reload applied"), line);
      String message = new JsonObject(line).getString("message");
      JsonObject bySignal = new JsonObject(message.substring(message.indexOf("applied: ") + "applied: ".length()));
      boolean postFirst = changedOnEveryMember(byPost);
      assertTrue(postFirst || changedOnEveryMember(bySignal), "one reload applied the change on both members: "
          + byPost.encode() + " / " + bySignal.encode());
      JsonObject later = postFirst ? bySignal : byPost;
      assertTrue(later.getJsonArray("members").stream().allMatch(m -> ((JsonObject) m).getJsonArray("changed")
          .isEmpty()), "the other ran after it and found nothing to change on either member: " + later.encode());
      assertEquals(2L, byPost.getLong("version"), byPost.encode());
      assertEquals(2L, bySignal.getLong("version"), bySignal.encode());

      // The lock is the cluster's: a slow reload coordinated by the second member (discovery, on the first, waits
      // for a new backend's first health check, which never answers within its 20 s) holds it, and a POST on the first
      // member (reload.lock_timeout: 8s) is refused with 409 and changes nothing; the slow one then applies.
      try (ServerSocket silent = new ServerSocket(RunningGateway.freePort(), 50,
          java.net.InetAddress.getLoopbackAddress())) {
        Files.writeString(config, base.replace("{more_backends}", "  - name: silent\n    url: \"http://127.0.0.1:"
            + silent.getLocalPort() + "\"\n") + "routing:\n  timeout: 41s\nhealth_check:\n  enabled: true\n"
            + "  timeout: 20s\n  interval: 60s\n");
        new ProcessBuilder("kill", "-HUP", Long.toString(second.pid())).start().waitFor(10, TimeUnit.SECONDS);
        assertTrue(Poll.until(Duration.ofSeconds(60), () -> GatewayProcessTest.read(secondLog).lines()
                .filter(l -> l.contains("holds the cluster's reload lock")).count() == 2),
            "the second member never took the lock again: " + GatewayProcessTest.read(secondLog));
        HttpResponse<String> refused = http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/config/reload"))
                .timeout(Duration.ofSeconds(150)).header("X-Admin-Token", TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(409, refused.statusCode(), refused.body() + "\n--- first:\n" + GatewayProcessTest.read(firstLog)
            .lines().filter(l -> l.contains("reload") || l.contains("health") || l.contains("discovery"))
            .reduce("", (x, y) -> x + y + "\n") + "\n--- second:\n" + GatewayProcessTest.read(secondLog));
        assertEquals("reload_in_progress", new JsonObject(refused.body()).getString("code"), refused.body());
        assertTrue(Poll.until(Duration.ofSeconds(120), () -> GatewayProcessTest.read(secondLog).lines()
                .filter(l -> l.contains("SIGHUP reload")).count() == 2),
            "no outcome of the slow reload: " + GatewayProcessTest.read(secondLog));
        String slow = GatewayProcessTest.read(secondLog).lines().filter(l -> l.contains("SIGHUP reload"))
            .reduce((x, y) -> y).orElseThrow();
        assertTrue(slow.contains("SIGHUP reload applied"), slow);
        String slowMessage = new JsonObject(slow).getString("message");
        assertEquals(3L, new JsonObject(slowMessage.substring(slowMessage.indexOf("applied: ") + "applied: ".length()))
            .getLong("version"), slow);
      }
    }
  }

  private static boolean changedOnEveryMember(JsonObject outcome) {
    JsonArray members = outcome.getJsonArray("members");
    return members.size() == 2 && members.stream()
        .allMatch(m -> ((JsonObject) m).getJsonArray("changed").contains("routing"));
  }

  /** {@code /admin/backends}: each proxy member's own view (the admin API waits a while for each member). */
  static JsonObject backends(HttpClient http, int adminPort, String token) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + adminPort + "/admin/backends"))
        .timeout(Duration.ofSeconds(60)).header("X-Admin-Token", token).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("data");
  }
}
