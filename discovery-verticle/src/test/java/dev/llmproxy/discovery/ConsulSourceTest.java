package dev.llmproxy.discovery;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.llmproxy.discovery.DiscoveryTesting.byUrl;
import static dev.llmproxy.discovery.DiscoveryTesting.urls;
import static dev.llmproxy.discovery.DiscoveryTesting.withSources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Consul source against a server of the test that answers {@code /v1/health/service/<name>} as Consul does:
 * the catalog entry shape, {@code passing} and {@code tag} filters, {@code X-Consul-Index}, and blocking queries
 * that hold the request until the index moves past {@code index} or {@code wait} runs out.
 */
@ExtendWith(VertxExtension.class)
class ConsulSourceTest {

  /** A one-service Consul agent. */
  static final class FakeConsul {
    final Vertx vertx;
    final Map<String, JsonObject> instances = new ConcurrentHashMap<>();
    final List<HttpServerRequest> parked = new CopyOnWriteArrayList<>();
    final AtomicInteger requests = new AtomicInteger();
    final List<String> queries = new CopyOnWriteArrayList<>();
    volatile long index = 10;
    volatile boolean down;
    HttpServer server;

    FakeConsul(Vertx vertx) {
      this.vertx = vertx;
    }

    static FakeConsul start(Vertx vertx) throws Exception {
      FakeConsul consul = new FakeConsul(vertx);
      consul.server = vertx.createHttpServer().requestHandler(consul::handle).listen(0, "127.0.0.1")
          .await(5, TimeUnit.SECONDS);
      return consul;
    }

    String addr() {
      return "http://127.0.0.1:" + server.actualPort();
    }

    /** Registers (or replaces) an instance; {@code status} is its one check's status. */
    void register(String id, String address, int port, List<String> tags, String status, Map<String, String> meta) {
      JsonObject entry = new JsonObject()
          .put("Node", new JsonObject().put("ID", "node-" + id).put("Node", "node-" + id).put("Address", "10.99.0.1")
              .put("Datacenter", "dc1").put("TaggedAddresses", new JsonObject()).put("Meta", new JsonObject())
              .put("CreateIndex", 5).put("ModifyIndex", 5))
          .put("Service", new JsonObject().put("ID", id).put("Service", "llm-backend").put("Tags", new JsonArray(tags))
              .put("Address", address).put("Meta", new JsonObject(new java.util.HashMap<>(meta))).put("Port", port)
              .put("Weights", new JsonObject().put("Passing", 1).put("Warning", 1)).put("EnableTagOverride", false)
              .put("CreateIndex", index).put("ModifyIndex", index))
          .put("Checks", new JsonArray()
              .add(new JsonObject().put("Node", "node-" + id).put("CheckID", "serfHealth").put("Name", "Serf Health Status")
                  .put("Status", "passing").put("ServiceID", "").put("ServiceName", ""))
              .add(new JsonObject().put("Node", "node-" + id).put("CheckID", "service:" + id).put("Name", "Service check")
                  .put("Status", status).put("ServiceID", id).put("ServiceName", "llm-backend")));
      instances.put(id, entry);
      changed();
    }

    void deregister(String id) {
      instances.remove(id);
      changed();
    }

    private void changed() {
      vertx.runOnContext(v -> {
        index++;
        List<HttpServerRequest> waiting = new ArrayList<>(parked);
        parked.clear();
        waiting.forEach(this::answer);
      });
    }

    private void handle(HttpServerRequest request) {
      requests.incrementAndGet();
      queries.add(request.uri());
      if (down) {
        request.response().setStatusCode(500).end("rpc error: No cluster leader");
        return;
      }
      if (!request.path().equals("/v1/health/service/llm-backend")) {
        request.response().setStatusCode(404).end();
        return;
      }
      long asked = request.getParam("index") == null ? 0 : Long.parseLong(request.getParam("index"));
      if (asked > 0 && asked >= index) {
        long waitMs = request.getParam("wait") == null ? 300_000 : Long.parseLong(request.getParam("wait").replace("s", "")) * 1000;
        parked.add(request);
        vertx.setTimer(waitMs, id -> {
          if (parked.remove(request)) {
            answer(request);
          }
        });
        return;
      }
      answer(request);
    }

    private void answer(HttpServerRequest request) {
      boolean passing = request.params().contains("passing");
      List<String> tags = request.params().getAll("tag");
      JsonArray out = new JsonArray();
      instances.values().stream().sorted((a, b) -> id(a).compareTo(id(b))).forEach(entry -> {
        List<?> own = entry.getJsonObject("Service").getJsonArray("Tags").getList();
        boolean allPass = entry.getJsonArray("Checks").stream()
            .allMatch(c -> "passing".equals(((JsonObject) c).getString("Status")));
        if ((!passing || allPass) && own.containsAll(tags)) {
          out.add(entry);
        }
      });
      request.response().putHeader("Content-Type", "application/json").putHeader("X-Consul-Index", Long.toString(index))
          .putHeader("X-Consul-Knownleader", "true").putHeader("X-Consul-Lastcontact", "0").end(out.encode());
    }

    private static String id(JsonObject entry) {
      return entry.getJsonObject("Service").getString("ID");
    }
  }

  private static JsonObject source(FakeConsul consul, String tag, String interval) {
    return new JsonObject().put("name", "consul").put("type", "consul").put("consul", new JsonObject()
        .put("addr", consul.addr()).put("service", "llm-backend").put("tag", tag).put("interval", interval));
  }

  @Test
  void passingTaggedInstancesFollowedByBlockingQueries(Vertx vertx) throws Exception {
    FakeConsul consul = FakeConsul.start(vertx);
    consul.register("a", "10.7.0.1", 8000, List.of("production"), "passing", Map.of("weight", "4", "models", "llama, qwen"));
    consul.register("b", "", 8001, List.of("production"), "critical", Map.of());
    consul.register("c", "10.7.0.3", 8000, List.of("staging"), "passing", Map.of());
    // the wait is long: whatever arrives sooner came through a blocking query returning on change
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(consul, "production", "30s")))) {
      BackendSnapshot first = discovery.current();
      assertEquals(List.of("http://10.7.0.1:8000"), urls(first), "passing and tagged only");
      assertEquals("a", first.backends().get(0).name());
      assertEquals(4, first.backends().get(0).weight());
      assertEquals(List.of("llama", "qwen"), first.backends().get(0).models());
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> consul.parked.size() == 1), "the next query waits at Consul");
      assertTrue(consul.queries.get(consul.queries.size() - 1).contains("index="), consul.queries.toString());

      consul.register("b", "", 8001, List.of("production"), "passing", Map.of());
      BackendSnapshot two = discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 2);
      assertEquals("http://10.99.0.1:8001", byUrl(two, "http://10.99.0.1:8001").url(), "no service address: the node's");

      consul.register("a", "10.7.0.1", 8000, List.of("production"), "critical", Map.of());
      discovery.awaitLatest(Duration.ofSeconds(5), s -> urls(s).equals(List.of("http://10.99.0.1:8001")));
      consul.deregister("b");
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().isEmpty());
      assertTrue(consul.requests.get() < 20, "no polling loop: " + consul.requests.get() + " requests");
    }
  }

  @Test
  void anOutageKeepsTheLastListAndRetries(Vertx vertx) throws Exception {
    FakeConsul consul = FakeConsul.start(vertx);
    consul.register("a", "10.8.0.1", 8000, List.of(), "passing", Map.of());
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(consul, "", "1s")))) {
      assertEquals(List.of("http://10.8.0.1:8000"), urls(discovery.current()));
      consul.down = true;
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> discovery.errors("consul") >= 2), "failures counted, retried");
      assertEquals(List.of("http://10.8.0.1:8000"), urls(discovery.current()));
      consul.register("b", "10.8.0.2", 8000, List.of(), "passing", Map.of());
      consul.down = false;
      discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 2);
    }
  }
}
