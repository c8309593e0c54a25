package dev.llmproxy.discovery;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.llmproxy.discovery.DiscoveryTesting.urls;
import static dev.llmproxy.discovery.DiscoveryTesting.withSources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kubernetes source against an API server of the test that serves EndpointSlices as Kubernetes does: a list
 * with a resourceVersion, label selectors, {@code watch=true} streams of ADDED/MODIFIED/DELETED events replayed
 * from the version asked for, 410 Expired for a version too old, and a bearer token.
 */
@ExtendWith(VertxExtension.class)
class KubernetesSourceTest {

  static final String TOKEN = "sa-token-for-tests";

  /** EndpointSlices of namespace {@code llm}. */
  static final class FakeApiServer {
    final Vertx vertx;
    final Map<String, JsonObject> slices = new LinkedHashMap<>();
    /** Every change, oldest first: resourceVersion and the event. */
    final List<Map.Entry<Long, JsonObject>> history = new ArrayList<>();
    final List<Map.Entry<HttpServerResponse, String>> watchers = new CopyOnWriteArrayList<>();
    final List<String> uris = new CopyOnWriteArrayList<>();
    final List<String> authorizations = new CopyOnWriteArrayList<>();
    long version = 100;
    long oldestKept = 0;
    HttpServer server;
    boolean tls;

    FakeApiServer(Vertx vertx) {
      this.vertx = vertx;
    }

    static FakeApiServer start(Vertx vertx) throws Exception {
      return start(vertx, new HttpServerOptions());
    }

    static FakeApiServer start(Vertx vertx, HttpServerOptions options) throws Exception {
      FakeApiServer api = new FakeApiServer(vertx);
      api.server = vertx.createHttpServer(options.setHost("127.0.0.1").setPort(0)).requestHandler(api::handle).listen()
          .await(5, TimeUnit.SECONDS);
      api.tls = options.isSsl();
      return api;
    }

    String url() {
      return (tls ? "https://localhost:" : "http://127.0.0.1:") + server.actualPort();
    }

    static JsonObject slice(String name, String service, Map<String, String> labels, int port, JsonObject... endpoints) {
      JsonObject allLabels = new JsonObject().put("kubernetes.io/service-name", service)
          .put("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io");
      labels.forEach(allLabels::put);
      JsonArray list = new JsonArray();
      for (JsonObject endpoint : endpoints) {
        list.add(endpoint);
      }
      return new JsonObject().put("kind", "EndpointSlice").put("apiVersion", "discovery.k8s.io/v1")
          .put("metadata", new JsonObject().put("name", name).put("namespace", "llm").put("labels", allLabels)
              .put("generateName", service + "-"))
          .put("addressType", "IPv4")
          .put("endpoints", list)
          .put("ports", new JsonArray().add(new JsonObject().put("name", "http").put("protocol", "TCP").put("port", port))
              .add(new JsonObject().put("name", "metrics").put("protocol", "TCP").put("port", 9090)));
    }

    static JsonObject endpoint(String pod, String ip, boolean ready) {
      return new JsonObject().put("addresses", new JsonArray().add(ip))
          .put("conditions", new JsonObject().put("ready", ready).put("serving", ready).put("terminating", false))
          .put("targetRef", new JsonObject().put("kind", "Pod").put("namespace", "llm").put("name", pod))
          .put("nodeName", "node-1");
    }

    /** ADDED or MODIFIED, as the slice is new or not; sent to every watcher whose selector matches. */
    void apply(JsonObject slice) {
      vertx.runOnContext(v -> change(slices.containsKey(name(slice)) ? "MODIFIED" : "ADDED", slice));
    }

    void delete(String name) {
      vertx.runOnContext(v -> {
        JsonObject gone = slices.get(name);
        if (gone != null) {
          change("DELETED", gone);
        }
      });
    }

    /** Ends every watch stream, as the API server does after its timeout. */
    void closeWatches() {
      vertx.runOnContext(v -> {
        watchers.forEach(w -> w.getKey().end());
        watchers.clear();
      });
    }

    /** Forgets the history up to now (etcd compaction): a watch from the current version or older now gets 410. */
    void compact() {
      vertx.runOnContext(v -> {
        oldestKept = version + 1;
        history.clear();
      });
    }

    private void change(String type, JsonObject slice) {
      version++;
      JsonObject stored = slice.copy();
      stored.getJsonObject("metadata").put("resourceVersion", Long.toString(version));
      if (type.equals("DELETED")) {
        slices.remove(name(stored));
      } else {
        slices.put(name(stored), stored);
      }
      JsonObject event = new JsonObject().put("type", type).put("object", stored);
      history.add(Map.entry(version, event));
      for (Map.Entry<HttpServerResponse, String> watcher : watchers) {
        if (matches(stored, watcher.getValue())) {
          watcher.getKey().write(event.encode() + "\n");
        }
      }
    }

    private void handle(HttpServerRequest request) {
      uris.add(request.uri());
      authorizations.add(String.valueOf(request.getHeader("Authorization")));
      if (!("Bearer " + TOKEN).equals(request.getHeader("Authorization"))) {
        request.response().setStatusCode(401).putHeader("Content-Type", "application/json")
            .end(status(401, "Unauthorized", "Unauthorized").encode());
        return;
      }
      if (!request.path().equals("/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices")) {
        request.response().setStatusCode(404).end(status(404, "NotFound", "the server could not find the requested resource").encode());
        return;
      }
      String selector = request.getParam("labelSelector", "");
      HttpServerResponse response = request.response().putHeader("Content-Type", "application/json");
      if (!"true".equals(request.getParam("watch"))) {
        JsonArray items = new JsonArray();
        slices.values().stream().filter(s -> matches(s, selector)).forEach(items::add);
        response.end(new JsonObject().put("kind", "EndpointSliceList").put("apiVersion", "discovery.k8s.io/v1")
            .put("metadata", new JsonObject().put("resourceVersion", Long.toString(version))).put("items", items).encode());
        return;
      }
      long from = Long.parseLong(request.getParam("resourceVersion", "0"));
      response.setChunked(true);
      if (from < oldestKept) {
        response.end(new JsonObject().put("type", "ERROR").put("object", status(410, "Expired",
            "too old resource version: " + from + " (" + oldestKept + ")")).encode() + "\n");
        return;
      }
      response.write(""); // headers out: the watch is open
      for (Map.Entry<Long, JsonObject> past : history) {
        if (past.getKey() > from && matches(past.getValue().getJsonObject("object"), selector)) {
          response.write(past.getValue().encode() + "\n");
        }
      }
      watchers.add(Map.entry(response, selector));
      response.closeHandler(v -> watchers.removeIf(w -> w.getKey() == response));
    }

    private static JsonObject status(int code, String reason, String message) {
      return new JsonObject().put("kind", "Status").put("apiVersion", "v1").put("metadata", new JsonObject())
          .put("status", "Failure").put("message", message).put("reason", reason).put("code", code);
    }

    private static boolean matches(JsonObject slice, String selector) {
      JsonObject labels = slice.getJsonObject("metadata").getJsonObject("labels", new JsonObject());
      for (String term : selector.split(",")) {
        if (term.isEmpty()) {
          continue;
        }
        String[] kv = term.split("=", 2);
        if (!kv[1].equals(labels.getString(kv[0]))) {
          return false;
        }
      }
      return true;
    }

    private static String name(JsonObject slice) {
      return slice.getJsonObject("metadata").getString("name");
    }
  }

  private static JsonObject source(FakeApiServer api, int port) {
    return new JsonObject().put("name", "k8s").put("type", "kubernetes").put("interval", "1h")
        .put("kubernetes", new JsonObject().put("namespace", "llm").put("service", "vllm").put("port", port)
            .put("label_selector", "app=vllm").put("api_server", api.url()));
  }

  private static String serviceAccount(Path dir) throws Exception {
    Files.writeString(dir.resolve("token"), TOKEN + "\n");
    return dir.toString();
  }

  private static final Map<String, String> APP = Map.of("app", "vllm");

  @Test
  void readyEndpointsFollowedByWatch(Vertx vertx, @TempDir Path account) throws Exception {
    FakeApiServer api = FakeApiServer.start(vertx);
    api.apply(FakeApiServer.slice("vllm-abc", "vllm", APP, 8000,
        FakeApiServer.endpoint("vllm-0", "10.9.0.1", true), FakeApiServer.endpoint("vllm-1", "10.9.0.2", false)));
    api.apply(FakeApiServer.slice("other-abc", "other", APP, 8000, FakeApiServer.endpoint("other-0", "10.9.9.9", true)));
    api.apply(FakeApiServer.slice("vllm-canary", "vllm", Map.of("app", "canary"), 8000,
        FakeApiServer.endpoint("canary-0", "10.9.8.8", true)));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(api, 8000)), serviceAccount(account))) {
      BackendSnapshot first = discovery.current();
      assertEquals(List.of("http://10.9.0.1:8000"), urls(first), "ready endpoints of the service and the label only");
      assertEquals("vllm-0", first.backends().get(0).name(), "named after the pod");
      assertTrue(api.uris.get(0).contains("labelSelector=kubernetes.io%2Fservice-name%3Dvllm%2Capp%3Dvllm"), api.uris.toString());
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> api.watchers.size() == 1), "a watch is open");

      api.apply(FakeApiServer.slice("vllm-abc", "vllm", APP, 8000,
          FakeApiServer.endpoint("vllm-0", "10.9.0.1", true), FakeApiServer.endpoint("vllm-1", "10.9.0.2", true)));
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 2);
      api.apply(FakeApiServer.slice("vllm-def", "vllm", APP, 8000, FakeApiServer.endpoint("vllm-2", "10.9.0.3", true)));
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 3);
      api.delete("vllm-abc");
      discovery.awaitLatest(Duration.ofSeconds(5), s -> urls(s).equals(List.of("http://10.9.0.3:8000")));
      assertTrue(api.authorizations.stream().allMatch(a -> a.equals("Bearer " + TOKEN)), "the service account's token");
      assertEquals(0, discovery.errors("k8s"));
    }
  }

  @Test
  void aClosedWatchResumesAndAnExpiredOneRelists(Vertx vertx, @TempDir Path account) throws Exception {
    FakeApiServer api = FakeApiServer.start(vertx);
    api.apply(FakeApiServer.slice("vllm-a", "vllm", APP, 8000, FakeApiServer.endpoint("vllm-0", "10.10.0.1", true)));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(api, 0)), serviceAccount(account))) {
      assertEquals(List.of("http://10.10.0.1:8000"), urls(discovery.current()), "port 0: the slice's first port");
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> api.watchers.size() == 1));
      int lists = (int) api.uris.stream().filter(u -> !u.contains("watch=true")).count();

      api.closeWatches();
      api.apply(FakeApiServer.slice("vllm-b", "vllm", APP, 8000, FakeApiServer.endpoint("vllm-1", "10.10.0.2", true)));
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 2);
      assertEquals(lists, api.uris.stream().filter(u -> !u.contains("watch=true")).count(),
          "a watch the server ended resumes from the last version, without a new list");

      assertTrue(Poll.until(Duration.ofSeconds(5), () -> api.watchers.size() == 1));
      api.compact();
      api.closeWatches();
      api.delete("vllm-a");
      discovery.awaitLatest(Duration.ofSeconds(10), s -> urls(s).equals(List.of("http://10.10.0.2:8000")));
      assertTrue(api.uris.stream().filter(u -> !u.contains("watch=true")).count() > lists, "410 Expired: listed anew");
    }
  }

  @Test
  void overTlsTheServiceAccountsCaIsTrusted(Vertx vertx, @TempDir Path account) throws Exception {
    SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
    FakeApiServer api = FakeApiServer.start(vertx, new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(certificate.keyCertOptions()));
    api.apply(FakeApiServer.slice("vllm-a", "vllm", APP, 8000, FakeApiServer.endpoint("vllm-0", "10.12.0.1", true)));
    String withoutCa = serviceAccount(account);
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(api, 8000)), withoutCa)) {
      assertTrue(discovery.current().backends().isEmpty(), "an API server whose certificate nobody vouches for");
      assertTrue(discovery.errors("k8s") >= 1);
    }
    Files.copy(Path.of(certificate.certificatePath()), account.resolve("ca.crt"));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(api, 8000)), withoutCa)) {
      assertEquals(List.of("http://10.12.0.1:8000"), urls(discovery.current()));
      assertEquals(0, discovery.errors("k8s"));
    }
    certificate.delete();
  }

  @Test
  void withoutTheTokenTheSourceFailsAndRetries(Vertx vertx) throws Exception {
    FakeApiServer api = FakeApiServer.start(vertx);
    api.apply(FakeApiServer.slice("vllm-a", "vllm", APP, 8000, FakeApiServer.endpoint("vllm-0", "10.11.0.1", true)));
    JsonObject source = source(api, 8000);
    source.put("interval", "100ms");
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source))) {
      assertTrue(discovery.current().backends().isEmpty());
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> discovery.errors("k8s") >= 2), "401 counted, retried");
    }
  }
}
