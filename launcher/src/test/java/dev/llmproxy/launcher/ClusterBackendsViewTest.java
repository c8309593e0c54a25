package dev.llmproxy.launcher;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
class ClusterBackendsViewTest {

  private static final Map<String, String> QUICK_HAZELCAST = Map.of("hazelcast.wait.seconds.before.join", "1",
      "hazelcast.max.wait.seconds.before.join", "2", "hazelcast.partition.count", "23");
  private static final String TOKEN = "admin-token-backends-view";

  @BeforeAll
  static void quickJoin() {
    QUICK_HAZELCAST.forEach(System::setProperty);
  }

  @AfterAll
  static void defaults() {
    QUICK_HAZELCAST.keySet().forEach(System::clearProperty);
  }

  @Test
  void everyProxyMembersViewIsListedAndAMemberThatDoesNotAnswerIsUnreachable(@TempDir Path dir) throws Exception {
    int firstCluster = RunningGateway.freePort();
    int secondCluster = RunningGateway.freePort();
    int firstPort = RunningGateway.freePort();
    int secondPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    String members = "[\"127.0.0.1:" + firstCluster + "\", \"127.0.0.1:" + secondCluster + "\"]";
    List<Vertx> started = new ArrayList<>();
    List<Gateway> gateways = new ArrayList<>();
    Vertx backendVertx = Vertx.vertx();
    started.add(backendVertx);
    CountDownLatch release = new CountDownLatch(1);
    try {
      MockLlmBackend backend = ClusterLocalAuthTest.await(MockLlmBackend.start(backendVertx, 0));
      GatewayConfig first = ClusterLocalAuthTest.config(dir.resolve("first"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          admin: {enabled: true, token: "%s", listen: "127.0.0.1:%d", db_path: "%s"}
          cluster: {enabled: true, name: "backends-view-%d", port: %d, members: %s}
          """.formatted(firstPort, backend.baseUrl(), TOKEN, adminPort, dir.resolve("keys.db"), firstCluster,
          firstCluster, members));
      GatewayConfig second = ClusterLocalAuthTest.config(dir.resolve("second"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          cluster: {enabled: true, name: "backends-view-%d", port: %d, members: %s, roles: [proxy]}
          """.formatted(secondPort, backend.baseUrl(), firstCluster, secondCluster, members));
      Vertx firstVertx = ClusterLocalAuthTest.join(first);
      started.add(0, firstVertx);
      Vertx secondVertx = ClusterLocalAuthTest.join(second);
      started.add(0, secondVertx);
      gateways.add(ClusterLocalAuthTest.await(Gateway.start(firstVertx, first, Gateway.newRegistry(), null)));
      gateways.add(ClusterLocalAuthTest.await(Gateway.start(secondVertx, second, Gateway.newRegistry(), null)));
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> ClusterLocalAuthTest.members(firstVertx) == 2),
          "the members never saw each other");

      HttpClient http = HttpClient.newHttpClient();
      for (int port : new int[] {firstPort, secondPort}) {
        assertTrue(Poll.until(Duration.ofSeconds(30), () -> GatewayProcessTest.status(http, port, "/ready") == 200),
            "the proxy on " + port + " never became ready");
        assertEquals(200, ClusterLocalAuthTest.chat(http, port, "sk-any"));
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
    } finally {
      release.countDown();
      for (Gateway gateway : gateways) {
        gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      for (Vertx vertx : started) {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static JsonObject backends(HttpClient http, int adminPort) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + adminPort + "/admin/backends"))
        .timeout(Duration.ofSeconds(60)).header("X-Admin-Token", TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("data");
  }
}
