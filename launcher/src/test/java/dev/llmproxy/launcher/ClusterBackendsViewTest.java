package dev.llmproxy.launcher;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /admin/backends} in a cluster of two members in this JVM, each with a proxy: every proxy member's own view
 * is listed by node id; when one member's event loops are all busy (it is still a member, its cluster manager still
 * answers, but nothing of its own replies), it is listed as unreachable within the admin API's short wait.
 */
@ExtendWith(LocalCluster.QuickJoin.class)
class ClusterBackendsViewTest {

  private static final String TOKEN = "admin-token-backends-view";

  @Test
  void everyProxyMembersViewIsListedAndAMemberThatDoesNotAnswerIsUnreachable(@TempDir Path dir) throws Exception {
    int firstCluster = RunningGateway.freePort();
    int secondCluster = RunningGateway.freePort();
    int firstPort = RunningGateway.freePort();
    int secondPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    String members = "[\"127.0.0.1:" + firstCluster + "\", \"127.0.0.1:" + secondCluster + "\"]";
    CountDownLatch release = new CountDownLatch(1);
    // The blocked event loops are released (the later resource is closed first) before the members are stopped.
    try (LocalCluster cluster = new LocalCluster(); AutoCloseable unblock = release::countDown) {
      MockLlmBackend backend = cluster.backend;
      GatewayConfig first = LocalCluster.config(dir.resolve("first"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          admin: {enabled: true, token: "%s", listen: "127.0.0.1:%d", db_path: "%s"}
          cluster: {enabled: true, name: "backends-view-%d", port: %d, members: %s}
          """.formatted(firstPort, backend.baseUrl(), TOKEN, adminPort, dir.resolve("keys.db"), firstCluster,
          firstCluster, members));
      GatewayConfig second = LocalCluster.config(dir.resolve("second"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          cluster: {enabled: true, name: "backends-view-%d", port: %d, members: %s, roles: [proxy]}
          """.formatted(secondPort, backend.baseUrl(), firstCluster, secondCluster, members));
      Vertx secondVertx = cluster.startMembers(first, second).get(1);

      HttpClient http = HttpClient.newHttpClient();
      for (int port : new int[] {firstPort, secondPort}) {
        assertTrue(Poll.until(Duration.ofSeconds(30), () -> GatewayProcessTest.status(http, port, "/ready") == 200),
            "the proxy on " + port + " never became ready");
        assertEquals(200, LocalCluster.chat(http, port, "sk-any"));
      }
      JsonArray listed = backends(http, adminPort).getJsonArray("members");
      assertEquals(2, listed.size(), listed.encode());
      for (Object o : listed) {
        JsonObject member = (JsonObject) o;
        assertEquals(Boolean.TRUE, member.getBoolean("reachable"), listed.encode());
        JsonObject view = member.getJsonArray("backends").getJsonObject(0);
        assertEquals(backend.baseUrl(), view.getString("url"), listed.encode());
        assertEquals(0, view.getInteger("in_flight"), listed.encode());
      }
      String secondNode = ((VertxInternal) secondVertx).clusterManager().getNodeId();

      // Every event loop of the second member busy: it stays a member, but neither its launcher nor its proxies
      // answer. The answer comes within the admin API's wait and names it unreachable.
      for (EventExecutor loop : ((VertxInternal) secondVertx).nettyEventLoopGroup()) {
        loop.execute(() -> {
          try {
            release.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
      }
      long asked = System.nanoTime();
      JsonArray busy = backends(http, adminPort).getJsonArray("members");
      long tookMs = (System.nanoTime() - asked) / 1_000_000;
      assertTrue(tookMs < 20_000, "answered in " + tookMs + " ms");
      assertEquals(2, busy.size(), busy.encode());
      for (Object o : busy) {
        JsonObject member = (JsonObject) o;
        boolean silent = member.getString("node_id").equals(secondNode);
        assertEquals(!silent, member.getBoolean("reachable"), busy.encode());
        if (silent) {
          assertFalse(member.getString("error", "").isEmpty(), busy.encode());
        }
      }
      release.countDown();
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> {
        try {
          return backends(http, adminPort).getJsonArray("members").stream()
              .allMatch(m -> ((JsonObject) m).getBoolean("reachable"));
        } catch (Exception e) {
          return false;
        }
      }), "listed as reachable again once it answers");
    }
  }

  private static JsonObject backends(HttpClient http, int adminPort) throws Exception {
    return ClusterAdminProcessTest.backends(http, adminPort, TOKEN);
  }
}
