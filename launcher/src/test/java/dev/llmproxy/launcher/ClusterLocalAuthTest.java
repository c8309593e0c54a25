package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two cluster members in this JVM, each with its own auth verticle and its own keys: the proxy of a member that
 * runs auth is answered by that auth only, never by the other member's (a clustered send would pick either).
 */
class ClusterLocalAuthTest {

  private static final Map<String, String> QUICK_HAZELCAST = Map.of("hazelcast.wait.seconds.before.join", "1",
      "hazelcast.max.wait.seconds.before.join", "2", "hazelcast.partition.count", "23");

  @BeforeAll
  static void quickJoin() {
    QUICK_HAZELCAST.forEach(System::setProperty);
  }

  @AfterAll
  static void defaults() {
    QUICK_HAZELCAST.keySet().forEach(System::clearProperty);
  }

  @Test
  void aProxyAsksTheAuthOfItsOwnJvm(@TempDir Path dir) throws Exception {
    int fullCluster = RunningGateway.freePort();
    int authCluster = RunningGateway.freePort();
    int proxyPort = RunningGateway.freePort();
    String members = "[\"127.0.0.1:" + fullCluster + "\", \"127.0.0.1:" + authCluster + "\"]";
    List<Vertx> started = new ArrayList<>();
    List<Gateway> gateways = new ArrayList<>();
    Vertx backendVertx = Vertx.vertx();
    started.add(backendVertx);
    try {
      MockLlmBackend backend = await(MockLlmBackend.start(backendVertx, 0));
      GatewayConfig other = config(dir.resolve("other"), """
          auth:
            enabled: true
            pipeline: [{name: keys, type: static, static: {keys: [{key: "sk-other-member-0123"}]}}]
          cluster: {enabled: true, name: "local-auth-%d", port: %d, members: %s, roles: [auth]}
          """.formatted(fullCluster, authCluster, members));
      GatewayConfig full = config(dir.resolve("full"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          auth:
            enabled: true
            negative_cache_ttl: 1ms
            pipeline: [{name: keys, type: static, static: {keys: [{key: "sk-local-member-0123"}]}}]
          cluster: {enabled: true, name: "local-auth-%d", port: %d, members: %s}
          """.formatted(proxyPort, backend.baseUrl(), fullCluster, fullCluster, members));
      Vertx otherVertx = join(other);
      started.add(0, otherVertx);
      Vertx fullVertx = join(full);
      started.add(0, fullVertx);
      gateways.add(await(Gateway.start(otherVertx, other, Gateway.newRegistry(), null)));
      gateways.add(await(Gateway.start(fullVertx, full, Gateway.newRegistry(), null)));
      assertTrue(dev.llmproxy.testsupport.Poll.until(java.time.Duration.ofSeconds(30), () -> members(fullVertx) == 2),
          "the members never saw each other");

      HttpClient http = HttpClient.newHttpClient();
      assertEquals(200, chat(http, proxyPort, "sk-local-member-0123"));
      for (int i = 0; i < 8; i++) {
        assertEquals(401, chat(http, proxyPort, "sk-other-member-0123"), "answered by the other member's auth");
      }
    } finally {
      for (Gateway gateway : gateways) {
        gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      for (Vertx vertx : started) {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  static GatewayConfig config(Path dir, String yaml) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, yaml + "usage: {journal_path: \"" + dir.resolve("journal") + "\"}\n");
    Vertx loader = Vertx.vertx();
    try {
      LoadedConfig loaded = await(ConfigLoader.load(loader, file.toString(), Map.of()));
      assertTrue(loaded.ok(), loaded.errors()::toString);
      return loaded.config();
    } finally {
      loader.close();
    }
  }

  static Vertx join(GatewayConfig config) throws Exception {
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    return await(Gateway.createClusteredVertx(registry, config.metrics(), config.cluster()));
  }

  static int members(Vertx vertx) {
    return ((io.vertx.core.internal.VertxInternal) vertx).clusterManager().getNodes().size();
  }

  static int chat(HttpClient client, int port, String key) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
