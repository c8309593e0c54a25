package dev.llmproxy.launcher;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole gateway with its backends coming from an HTTP registry served by the test and checked by active
 * health checks: a backend that leaves the set finishes the stream it is serving, readiness follows health, and the
 * proxy's {@code llmproxy_backend_up} gauge shows what the checks found.
 */
class GatewayDiscoveryTest {

  private static Vertx vertx;
  private static Gateway gateway;
  private static MockLlmBackend first;
  private static MockLlmBackend second;
  private static HttpServer registry;
  private static final AtomicReference<String> registryBody = new AtomicReference<>("[]");
  private static final List<BackendSnapshot> snapshots = new CopyOnWriteArrayList<>();
  private static int port;
  private static int deadPort;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    port = freePort();
    deadPort = freePort();
    PrometheusMeterRegistry meters = Gateway.newRegistry();
    vertx = Gateway.createVertx(meters, GatewayConfig.defaults().metrics());
    first = MockLlmBackend.start(vertx, 0).await(10, TimeUnit.SECONDS);
    second = MockLlmBackend.start(vertx, 0).await(10, TimeUnit.SECONDS);
    registry = vertx.createHttpServer().requestHandler(r -> r.response().putHeader("Content-Type", "application/json")
        .end(registryBody.get())).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    vertx.eventBus().<JsonObject>consumer(Addresses.BACKENDS_SNAPSHOT, m -> snapshots.add(BackendSnapshot.fromJson(m.body())))
        .completion().await(10, TimeUnit.SECONDS);
    list(entry("first", first.baseUrl()));
    String yaml = """
        server:
          listen: "127.0.0.1:%d"
        health_check:
          enabled: true
          interval: 200ms
          timeout: 1s
          path: /health
          unhealthy_threshold: 1
          healthy_threshold: 1
        discovery:
          enabled: true
          mode: merge
          sources:
            - name: registry
              type: http
              http:
                url: "http://127.0.0.1:%d/services"
                interval: 100ms
                timeout: 2s
        """.formatted(port, registry.actualPort());
    Path file = Files.createTempFile("discovery", ".yaml");
    Files.writeString(file, yaml);
    LoadedConfig loaded = ConfigLoader.load(vertx, file.toString(), Map.of()).await(10, TimeUnit.SECONDS);
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    gateway = Gateway.start(vertx, loaded.config(), meters).await(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static JsonObject entry(String name, String url) {
    return new JsonObject().put("name", name).put("url", url);
  }

  private static void list(JsonObject... backends) {
    JsonArray array = new JsonArray();
    for (JsonObject backend : backends) {
      array.add(backend);
    }
    registryBody.set(array.encode());
  }

  private static BackendSnapshot latest() {
    return snapshots.isEmpty() ? BackendSnapshot.EMPTY : snapshots.get(snapshots.size() - 1);
  }

  private static List<String> names(BackendSnapshot snapshot) {
    return snapshot.backends().stream().map(Backend::name).sorted().toList();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest chat(boolean stream, int chunks, int intervalMs) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .header("X-Mock-Chunks", Integer.toString(chunks))
        .header("X-Mock-Interval-Ms", Integer.toString(intervalMs))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"stream\":" + stream + ",\"messages\":[]}"))
        .build();
  }

  @Test
  void aBackendThatLeavesTheSetFinishesItsRunningStream() throws Exception {
    list(entry("first", first.baseUrl()));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> names(latest()).equals(List.of("first"))));
    int finishedBefore = first.streamsFinished();
    int cutBefore = first.streamsCutByClient();

    // a slow stream: 30 chunks, 100 ms apart
    AtomicInteger contentFrames = new AtomicInteger();
    AtomicReference<String> lastLine = new AtomicReference<>();
    CompletableFuture<Integer> stream = CompletableFuture.supplyAsync(() -> {
      try {
        HttpResponse<InputStream> response = http.send(chat(true, 30, 100), HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
          for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            if (line.startsWith("data: ")) {
              lastLine.set(line);
              if (line.contains("\"content\"")) {
                contentFrames.incrementAndGet();
              }
            }
          }
        }
        return response.statusCode();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> contentFrames.get() >= 2), "the stream is flowing");

    long versionBefore = latest().version();
    list(entry("second", second.baseUrl()));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> names(latest()).equals(List.of("second"))),
        () -> "snapshots: " + snapshots);
    assertEquals(versionBefore + 1, latest().version(), "one snapshot for the change");
    assertFalse(stream.isDone(), "the stream was still running when its backend left the set");
    assertTrue(contentFrames.get() < 30);

    int secondBefore = second.completions();
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
      try {
        return http.send(chat(false, 3, 0), HttpResponse.BodyHandlers.ofString()).statusCode() == 200
            && second.completions() > secondBefore;
      } catch (Exception e) {
        return false;
      }
    }), "new requests go to the backend now in the set");
    int firstCompletions = first.completions();

    assertEquals(200, stream.get(20, TimeUnit.SECONDS));
    assertEquals(30, contentFrames.get(), "every chunk reached the client");
    assertEquals("data: [DONE]", lastLine.get());
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> first.streamsFinished() == finishedBefore + 1));
    assertEquals(cutBefore, first.streamsCutByClient(), "the gateway never cut the stream");
    assertEquals(firstCompletions, first.completions(), "and sent nothing new to the backend that left");
  }

  @Test
  void readinessAndTheUpGaugeFollowHealthChecks() throws Exception {
    list(entry("dead", "http://127.0.0.1:" + deadPort));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> names(latest()).equals(List.of("dead"))
        && !latest().hasUsable()), () -> "snapshots: " + snapshots);
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> {
      try {
        return get("/ready").statusCode() == 503;
      } catch (Exception e) {
        return false;
      }
    }), "not ready without a healthy backend");
    assertTrue(get("/metrics").body().contains("llmproxy_backend_up{backend=\"dead\"} 0.0"));

    list(entry("dead", "http://127.0.0.1:" + deadPort), entry("first", first.baseUrl()));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
      try {
        return get("/ready").statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    }), "ready once a healthy backend is in the set");
    String metrics = get("/metrics").body();
    assertTrue(metrics.contains("llmproxy_backend_up{backend=\"first\"} 1.0"), metrics);
    assertTrue(metrics.contains("llmproxy_discovery_errors_total{source=\"registry\"} 0.0"), metrics);
    list(entry("first", first.baseUrl()));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> names(latest()).equals(List.of("first"))));
  }
}
