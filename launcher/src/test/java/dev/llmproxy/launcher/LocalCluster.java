package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
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
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Cluster members in this JVM, each a clustered Vert.x with its gateway, and a mock backend in a Vert.x of its own;
 * closing stops the gateways, then the Vert.x instances, the members first. A class using it runs with
 * {@link QuickJoin}.
 */
final class LocalCluster implements AutoCloseable {

  private final List<Vertx> started = new ArrayList<>();
  private final List<Gateway> gateways = new ArrayList<>();
  private final Vertx backendVertx = Vertx.vertx();
  final MockLlmBackend backend;

  LocalCluster() throws Exception {
    started.add(backendVertx);
    try {
      backend = await(MockLlmBackend.start(backendVertx, 0));
    } catch (Exception e) {
      close();
      throw e;
    }
  }

  private Vertx join(GatewayConfig config) throws Exception {
    Vertx vertx = await(Gateway.createClusteredVertx(Gateway.newRegistry(), config.metrics(), config.cluster()));
    started.add(0, vertx);
    return vertx;
  }

  private void start(Vertx member, GatewayConfig config) throws Exception {
    gateways.add(await(Gateway.start(member, config, Gateway.newRegistry(), null)));
  }

  /**
   * One member for each config: all join, then each starts its gateway, and they see each other.
   *
   * @return each member's Vert.x, in the order of the configs
   */
  List<Vertx> startMembers(GatewayConfig... configs) throws Exception {
    List<Vertx> members = new ArrayList<>();
    for (GatewayConfig config : configs) {
      members.add(join(config));
    }
    for (int i = 0; i < configs.length; i++) {
      start(members.get(i), configs[i]);
    }
    assertTrue(Poll.until(Duration.ofSeconds(30),
            () -> ((VertxInternal) members.get(0)).clusterManager().getNodes().size() == configs.length),
        "the members never saw each other");
    return members;
  }

  @Override
  public void close() throws Exception {
    for (Gateway gateway : gateways) {
      gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    for (Vertx vertx : started) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** A member's config: {@code yaml}, its journal in {@code dir}, read as the launcher reads it. */
  static GatewayConfig config(Path dir, String yaml) throws Exception {
    Files.createDirectories(dir);
    return load(dir, yaml + "usage: {journal_path: \"" + dir.resolve("journal") + "\"}\n");
  }

  /** {@code yaml} as it is, written to {@code dir}/config.yaml and loaded as the gateway would; it must be valid. */
  static GatewayConfig load(Path dir, String yaml) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, yaml);
    Vertx loader = Vertx.vertx();
    try {
      LoadedConfig loaded = await(ConfigLoader.load(loader, file.toString(), Map.of()));
      assertTrue(loaded.ok(), loaded.errors()::toString);
      return loaded.config();
    } finally {
      loader.close();
    }
  }

  /** The status of a chat completion with this key. */
  static int chat(HttpClient client, int port, String key) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** Hazelcast's waits shortened for loopback while the class runs (system properties Hazelcast reads itself). */
  static final class QuickJoin implements BeforeAllCallback, AfterAllCallback {

    private static final Map<String, String> PROPERTIES = Map.of("hazelcast.wait.seconds.before.join", "1",
        "hazelcast.max.wait.seconds.before.join", "2", "hazelcast.partition.count", "23");

    @Override
    public void beforeAll(ExtensionContext context) {
      PROPERTIES.forEach(System::setProperty);
    }

    @Override
    public void afterAll(ExtensionContext context) {
      PROPERTIES.keySet().forEach(System::clearProperty);
    }
  }
}
