package dev.llmproxy.discovery;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.llmproxy.discovery.DiscoveryTesting.byUrl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Active health checks against servers of the test: first check at start, thresholds both ways, scripts. */
@ExtendWith(VertxExtension.class)
class HealthCheckTest {

  /** A backend whose health endpoint answers what the test sets, and counts the checks by outcome. */
  static final class Target {
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicReference<String> body = new AtomicReference<>("{\"status\":\"ok\"}");
    final AtomicInteger checks = new AtomicInteger();
    final AtomicInteger failedChecks = new AtomicInteger();
    final AtomicInteger passedChecks = new AtomicInteger();
    final AtomicReference<String> lastPath = new AtomicReference<>();
    final AtomicReference<String> lastApiKey = new AtomicReference<>();
    /** When set, the status of each check by its number, then 200. */
    volatile int[] sequence;
    HttpServer server;

    static Target start(Vertx vertx) throws Exception {
      return start(vertx, 0);
    }

    static Target start(Vertx vertx, int port) throws Exception {
      Target target = new Target();
      target.server = vertx.createHttpServer().requestHandler(request -> {
        target.checks.incrementAndGet();
        target.lastPath.set(request.path());
        target.lastApiKey.set(request.getHeader("X-Api-Key"));
        int n = target.checks.get() - 1;
        int status = target.sequence != null && n < target.sequence.length ? target.sequence[n]
            : target.sequence != null ? 200 : target.status.get();
        (status == 200 ? target.passedChecks : target.failedChecks).incrementAndGet();
        request.response().setStatusCode(status).end(target.body.get());
      }).listen(port, "127.0.0.1").await(5, TimeUnit.SECONDS);
      return target;
    }

    String url() {
      return "http://127.0.0.1:" + server.actualPort();
    }
  }

  private static JsonObject config(JsonObject healthCheck, String... urls) {
    JsonArray backends = new JsonArray();
    for (String url : urls) {
      backends.add(new JsonObject().put("url", url).put("headers", new JsonObject().put("X-Api-Key", "backend-secret")));
    }
    return new JsonObject().put("backends", backends).put("health_check", healthCheck);
  }

  private static JsonObject checks(String interval, int unhealthy, int healthy) {
    return new JsonObject().put("enabled", true).put("interval", interval).put("timeout", "1s").put("path", "/healthz")
        .put("unhealthy_threshold", unhealthy).put("healthy_threshold", healthy);
  }

  @Test
  void theFirstCheckDecidesBeforeTheFirstSnapshot(Vertx vertx) throws Exception {
    Target up = Target.start(vertx);
    Target down = Target.start(vertx);
    down.status.set(503);
    String closed = "http://127.0.0.1:1"; // nothing listens there
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(checks("1h", 3, 2), up.url(), down.url(), closed))) {
      BackendSnapshot first = discovery.current();
      assertEquals(1, first.version(), "no snapshot before the first checks");
      assertTrue(byUrl(first, up.url()).healthy());
      assertFalse(byUrl(first, down.url()).healthy(), "one failed first check is enough at start");
      assertFalse(byUrl(first, closed).healthy());
      assertEquals("/healthz", up.lastPath.get());
      assertEquals("backend-secret", up.lastApiKey.get(), "backend headers go with the check");
    }
  }

  @Test
  void aBackendStartedAfterTheGatewayIsUsedWithinSecondsNotAtTheInterval(Vertx vertx) throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    // An hour between steady checks and two passes needed: only the quick checks of a backend never seen healthy
    // can make it usable within the test's deadline.
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(checks("1h", 3, 2), url))) {
      assertFalse(byUrl(discovery.current(), url).healthy(), "nothing listens yet");
      Target late = Target.start(vertx, port);
      long started = System.nanoTime();
      discovery.awaitLatest(Duration.ofSeconds(30), s -> byUrl(s, url).healthy());
      long waitedMs = (System.nanoTime() - started) / 1_000_000;
      assertTrue(late.checks.get() >= 1);
      assertTrue(waitedMs < 20_000, "healthy after " + waitedMs + " ms, not at the interval");
    }
  }

  @Test
  void noUsableBackendWhenNoneAnswers(Vertx vertx) throws Exception {
    Target down = Target.start(vertx);
    down.status.set(500);
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(checks("1h", 3, 2), down.url()))) {
      assertFalse(discovery.current().hasUsable(), "so the proxy's /ready says 503");
    }
  }

  @Test
  void thresholdsBothWays(Vertx vertx) throws Exception {
    // the n-th check gets the n-th status, whatever the timing: the snapshots that follow are fully determined
    Target target = Target.start(vertx);
    target.sequence = new int[] {
        200,            // first check: healthy at once (v1)
        500, 500, 200,  // two failures in a row: below unhealthy_threshold 3
        500, 500, 500,  // three: unhealthy (v2)
        200, 500, 500, 500, // one pass is below healthy_threshold 2, and the failures after it change nothing
        200, 200};      // two passes in a row: healthy (v3), and 200 from then on
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(checks("50ms", 3, 2), target.url()))) {
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> target.checks.get() >= target.sequence.length + 3));
      List<Boolean> health = discovery.published.stream().map(s -> s.backends().get(0).healthy()).toList();
      assertEquals(List.of(true, false, true), health, "snapshots: " + discovery.published);
      assertEquals(3, discovery.latest().version());
    }
  }

  @Test
  void aScriptJudgesFromTheResponse(Vertx vertx) throws Exception {
    Target loading = Target.start(vertx);
    loading.body.set("{\"status\":\"loading\"}");
    Target ready = Target.start(vertx);
    String script = """
        local state = json.decode(response.body)
        return { healthy = response.status == expected_status and state.status == "ok" and backend.url ~= nil }
        """;
    JsonObject health = checks("100ms", 1, 1).put("script", new JsonObject().put("enabled", true).put("script", script));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(health, loading.url(), ready.url()))) {
      BackendSnapshot first = discovery.current();
      assertFalse(byUrl(first, loading.url()).healthy(), "200 but still loading");
      assertTrue(byUrl(first, ready.url()).healthy());
      loading.body.set("{\"status\":\"ok\"}");
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.hasUsable() && byUrl(s, loading.url()).healthy());
    }
  }

  /** scripts/health_check.lua, loaded by path as health_check.script names it. */
  @Test
  void theScriptsFolderHealthCheckWaitsForALoadingModel(Vertx vertx) throws Exception {
    Target loading = Target.start(vertx);
    loading.body.set("{\"status\":\"loading model\"}");
    Target ready = Target.start(vertx);
    JsonObject health = checks("100ms", 1, 1)
        .put("script", new JsonObject().put("enabled", true).put("path", "../scripts/health_check.lua"));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config(health, loading.url(), ready.url()))) {
      BackendSnapshot first = discovery.current();
      assertFalse(byUrl(first, loading.url()).healthy(), "200 but still loading the model");
      assertTrue(byUrl(first, ready.url()).healthy());
      loading.body.set("{\"status\":\"ok\"}");
      discovery.awaitLatest(Duration.ofSeconds(5), s -> byUrl(s, loading.url()).healthy());
    }
  }

  @Test
  void withoutAHealthCheckBlockThereAreNoChecksAsInTheOriginal(Vertx vertx) throws Exception {
    Target target = Target.start(vertx);
    target.status.set(404); // Ollama has no /health
    JsonObject config = new JsonObject().put("backends", new JsonArray().add(new JsonObject().put("url", target.url())));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
      assertTrue(discovery.current().hasUsable());
      assertEquals(0, target.checks.get());
    }
    config.put("health_check", new JsonObject().put("interval", "1h"));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
      assertFalse(discovery.current().hasUsable(), "a block without enabled: the checks are on");
      assertEquals(1, target.checks.get());
    }
  }

  @Test
  void checksOffMeansEveryBackendIsHealthy(Vertx vertx) throws Exception {
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx,
        config(new JsonObject().put("enabled", false), "http://127.0.0.1:1"))) {
      assertTrue(discovery.current().hasUsable());
    }
  }
}
