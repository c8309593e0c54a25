package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code routing.flow_control} in front of one mock backend that takes one request at a time ({@code max_in_flight:
 * 1}): the first request holds the backend (the mock answers it late) while the others wait in the gateway; the
 * order in which the backend then receives them is the queue's order.
 */
@ExtendWith(VertxExtension.class)
class FlowControlTest {

  private static final Duration DEADLINE = Duration.ofSeconds(20);
  private static final HttpClient JDK = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    // Tenants are keys; key sk-capped may not go above priority 1 whatever it asks.
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      String key = AuthCheck.fromJson(message.body()).apiKey();
      JsonObject metadata = key.startsWith("sk-capped") ? new JsonObject().put("priority", 1) : null;
      message.reply(new AuthDecision(true, 200, null, null, key, null, key, null, metadata, null, null, null, 0)
          .toJson());
    });
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  /**
   * Two proxy instances on two event loops, as the launcher deploys one per loop: the client's connections land on
   * both, and the order asserted is the JVM's one queue's, whichever loop a request came in on.
   */
  private ProxyHarness proxy(Vertx vertx, JsonObject flowControl) {
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false))
            .put("flow_control", new JsonObject().put("enabled", true).put("max_in_flight", 1).mergeIn(flowControl))),
        environment -> { }, 2));
  }

  private static String chat(String label) {
    return new JsonObject().put("model", "mock").put("max_tokens", 2)
        .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content", label)))
        .encode();
  }

  /** Sends a chat request as {@code key} with {@code priority} (null: no header), without waiting for it. */
  private static CompletableFuture<HttpResponse<String>> send(ProxyHarness proxy, String label, String key,
      Integer priority) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(chat(label)));
    if (priority != null) {
      request.header("X-Priority", priority.toString());
    }
    return JDK.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static double queued(ProxyHarness proxy) {
    return proxy.environment.registry().find("llmproxy_flow_queue_length").gauges().stream().mapToDouble(Gauge::value).sum();
  }

  private static double shed(ProxyHarness proxy, String band, String reason) {
    Counter counter = proxy.environment.registry().find("llmproxy_flow_shed").tag("band", band).tag("reason", reason)
        .counter();
    return counter == null ? 0 : counter.count();
  }

  /** The labels of the requests the backend received, in order. */
  private List<String> order() {
    List<String> labels = new ArrayList<>();
    for (MockLlmBackend.Received received : List.copyOf(backend.received())) {
      if (received.uri().startsWith("/v1/chat/completions")) {
        labels.add(received.json().getJsonArray("messages").getJsonObject(0).getString("content"));
      }
    }
    return labels;
  }

  /** The first request holds the backend until the mock answers it; the test queues the rest meanwhile. */
  private CompletableFuture<HttpResponse<String>> occupy(ProxyHarness proxy) {
    backend.answerDelay(3000);
    CompletableFuture<HttpResponse<String>> first = send(proxy, "first", "sk-a-0000000000", null);
    assertTrue(Poll.until(DEADLINE, () -> order().size() == 1), "the first request did not arrive");
    return first;
  }

  private void queue(ProxyHarness proxy, List<CompletableFuture<HttpResponse<String>>> into, String label, String key,
      Integer priority) {
    double before = queued(proxy);
    into.add(send(proxy, label, key, priority));
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == before + 1), label + " was not queued");
  }

  private static void allOk(List<CompletableFuture<HttpResponse<String>>> answers) {
    for (CompletableFuture<HttpResponse<String>> answer : answers) {
      HttpResponse<String> response = answer.orTimeout(30, TimeUnit.SECONDS).join();
      assertEquals(200, response.statusCode(), response.body());
    }
  }

  @Test
  void oneTenantsFloodDoesNotDelayAnotherTenantByMoreThanOneServiceTimeWhicheverLoopEachCameIn(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(List.of(occupy(proxy)));
    for (int i = 1; i <= 4; i++) {
      queue(proxy, answers, "a" + i, "sk-a-0000000000", null);
    }
    queue(proxy, answers, "b1", "sk-b-0000000000", null);
    backend.answerDelay(0);
    allOk(answers);
    // Fair share: A's first request took its turn (sent at once, it counts all the same), so B's goes before the
    // rest of A's flood; B waits for one request, the one the backend held.
    assertEquals(List.of("first", "b1", "a1", "a2", "a3", "a4"), order());
    assertEquals(0, queued(proxy));
  }

  @Test
  void aReloadKeepsOneQueueForTheRequestsQueuedBeforeItAndAfter(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(List.of(occupy(proxy)));
    queue(proxy, answers, "a1", "sk-a-0000000000", null);
    // The first request and a1 stay with the previous config; b1 comes in on the new one. One queue for both: B's
    // turn comes before A's second request, as without the reload; two queues would send a1 first.
    proxy.reload(new JsonObject().put("routing", new JsonObject()
        .put("flow_control", new JsonObject().put("max_wait", "20s"))));
    queue(proxy, answers, "b1", "sk-b-0000000000", null);
    backend.answerDelay(0);
    allOk(answers);
    assertEquals(List.of("first", "b1", "a1"), order());
    assertEquals(0, queued(proxy));
  }

  @Test
  void aHigherBandOvertakesALowerOneAndAKeysPriorityCapsTheHeader(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(List.of(occupy(proxy)));
    queue(proxy, answers, "low1", "sk-a-0000000000", null);
    queue(proxy, answers, "low2", "sk-a-0000000000", 0);
    queue(proxy, answers, "capped", "sk-capped-000000", 9);
    queue(proxy, answers, "high", "sk-b-0000000000", 5);
    backend.answerDelay(0);
    allOk(answers);
    assertEquals(List.of("first", "high", "capped", "low1", "low2"), order());
    String metrics = Http.call(proxy.client, HttpMethod.GET, "/metrics", java.util.Map.of(), null).text();
    assertTrue(metrics.contains("llmproxy_flow_wait_seconds_bucket{band=\"5\""), metrics);
    assertTrue(metrics.contains("llmproxy_flow_wait_seconds_count{band=\"1\"} 1"), metrics);
  }

  @Test
  void aFullQueueShedsTheLowestBandFirstAndRefusesWhatWouldBeLowest(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("max_queue", 2));
    CompletableFuture<HttpResponse<String>> first = occupy(proxy);
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    queue(proxy, answers, "low1", "sk-a-0000000000", null);
    queue(proxy, answers, "low2", "sk-a-0000000000", null);
    HttpResponse<String> refused = send(proxy, "low3", "sk-b-0000000000", null).orTimeout(30, TimeUnit.SECONDS).join();
    assertEquals(429, refused.statusCode());
    assertEquals("overloaded", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
    assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
    CompletableFuture<HttpResponse<String>> high = send(proxy, "high", "sk-b-0000000000", 3);
    // The high request takes the place of the newest low one, which is refused at once.
    HttpResponse<String> displaced = answers.get(1).orTimeout(30, TimeUnit.SECONDS).join();
    assertEquals(429, displaced.statusCode(), displaced.body());
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 2), () -> "queued " + queued(proxy) + " " + order() + " "
        + proxy.environment.registry().find("llmproxy_flow_queue_length").gauges().stream()
        .map(g -> g.getId().getTag("band") + "=" + g.value()).toList());
    backend.answerDelay(0);
    allOk(List.of(first, answers.get(0), high));
    assertEquals(List.of("first", "high", "low1"), order());
    assertEquals(2, shed(proxy, "0", "max_queue"));
  }

  @Test
  void aRequestWaitingLongerThanMaxWaitIsShed(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("max_wait", "300ms"));
    CompletableFuture<HttpResponse<String>> first = occupy(proxy);
    HttpResponse<String> late = send(proxy, "late", "sk-b-0000000000", null).orTimeout(30, TimeUnit.SECONDS).join();
    assertEquals(429, late.statusCode());
    assertEquals("overloaded", new JsonObject(late.body()).getJsonObject("error").getString("code"));
    assertEquals(1, shed(proxy, "0", "max_wait"));
    assertEquals(0, queued(proxy));
    assertEquals(200, first.orTimeout(30, TimeUnit.SECONDS).join().statusCode());
    assertEquals(List.of("first"), order());
  }

  @Test
  void aClientThatLeavesTheQueueLeavesAtOnceAndIsNotMetered(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    CompletableFuture<HttpResponse<String>> first = occupy(proxy);
    HttpClientRequest leaving = Http.await(proxy.client.request(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/v1/chat/completions").putHeader("Authorization", "Bearer sk-b-0000000000")
        .putHeader("Content-Type", "application/json")));
    leaving.send(chat("gone"));
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 1), "the request was not queued");
    leaving.connection().close();
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 0), "the request stayed in the queue");
    assertTrue(!first.isDone(), "the queue emptied only because the first request ended");
    backend.answerDelay(0);
    assertEquals(200, first.orTimeout(30, TimeUnit.SECONDS).join().statusCode());
    assertEquals(200, send(proxy, "after", "sk-a-0000000000", null).orTimeout(30, TimeUnit.SECONDS).join().statusCode());
    assertEquals(List.of("first", "after"), order());
    List<UsageRecord> records = new ArrayList<>();
    records.add(proxy.nextUsage());
    records.add(proxy.nextUsage());
    assertEquals(List.of(200, 200), records.stream().map(UsageRecord::statusCode).toList());
    assertTrue(proxy.usage.poll(500, TimeUnit.MILLISECONDS) == null, "a usage record for the client that left");
  }

  @Test
  void theStrategyChoosesAmongBackendsBelowTheirThresholdAndTheRestWait(Vertx vertx) {
    MockLlmBackend light = Http.await(MockLlmBackend.start(vertx, 0));
    try {
      // Smooth weighted round robin would send the first requests to the heavy backend; the saturated one is skipped.
      ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject()
          .put("backends", new io.vertx.core.json.JsonArray()
              .add(new JsonObject().put("name", "heavy").put("url", backend.baseUrl()).put("weight", 100))
              .add(new JsonObject().put("name", "light").put("url", light.baseUrl()).put("weight", 1)))
          .put("auth", new JsonObject().put("enabled", true))
          .put("routing", new JsonObject().put("load_balance", "weighted")
              .put("retry", new JsonObject().put("enabled", false))
              .put("flow_control", new JsonObject().put("enabled", true).put("max_in_flight", 1)))));
      light.answerDelay(3000);
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(List.of(occupy(proxy)));
      answers.add(send(proxy, "second", "sk-b-0000000000", null));
      assertTrue(Poll.until(DEADLINE, () -> light.completions() == 1),
          "the second request did not go to the backend below its threshold");
      queue(proxy, answers, "third", "sk-c-0000000000", null);
      assertEquals(List.of("first"), order());
      backend.answerDelay(0);
      light.answerDelay(0);
      allOk(answers);
      assertEquals(0, queued(proxy));
    } finally {
      light.close();
    }
  }

  @Test
  void anEngineReportingAFullQueueHoldsRequestsInTheGatewayUntilItDrains(Vertx vertx) {
    // vLLM's own figures: 3 waiting is past max_waiting 2, though the gateway has nothing in flight there.
    backend.engineMetrics("vllm:num_requests_waiting 3\nvllm:num_requests_running 4\nvllm:gpu_cache_usage_perc 0.5\n");
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false))
            .put("flow_control", new JsonObject().put("enabled", true).put("max_waiting", 2)))));
    assertTrue(Poll.until(DEADLINE, () -> proxy.environment.backendStats().all().values().stream()
        .anyMatch(s -> s.engineLoad(System.nanoTime(), Long.MAX_VALUE) != null)), "the engine's figures were not scraped");
    CompletableFuture<HttpResponse<String>> waiting = send(proxy, "held", "sk-a-0000000000", null);
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 1), "the request was not held");
    assertEquals(List.of(), order());
    // The KV cache alone saturates too.
    backend.engineMetrics("vllm:num_requests_waiting 0\nvllm:num_requests_running 4\nvllm:gpu_cache_usage_perc 0.95\n");
    assertTrue(Poll.until(DEADLINE, () -> proxy.environment.backendStats().all().values().stream()
        .anyMatch(s -> { var load = s.engineLoad(System.nanoTime(), Long.MAX_VALUE);
          return load != null && load.kvCacheUsage() > 0.9; })), "the KV-cache figure was not scraped");
    assertEquals(1, queued(proxy));
    assertEquals(List.of(), order());
    backend.engineMetrics("vllm:num_requests_waiting 0\nvllm:num_requests_running 4\nvllm:gpu_cache_usage_perc 0.2\n");
    HttpResponse<String> answer = waiting.orTimeout(30, TimeUnit.SECONDS).join();
    assertEquals(200, answer.statusCode(), answer.body());
    assertEquals(List.of("held"), order());
    assertEquals(0, queued(proxy));
  }
  @Test
  void withMaxWaitingZeroABackendTakesARequestOnlyWhileTheEngineHasAFreeSlot(Vertx vertx) {
    // vLLM reports no slot count: max_in_flight 2 is the backend's slots. Another client already runs one there.
    backend.engineMetrics("vllm:num_requests_waiting 0\nvllm:num_requests_running 1\n");
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("max_waiting", 0).put("max_in_flight", 2));
    BackendStats stats = proxy.environment.backendStats().all().values().iterator().next();
    assertTrue(Poll.until(DEADLINE, () -> stats.engineLoad(System.nanoTime(), Long.MAX_VALUE) != null),
        "the engine's figures were not scraped");
    // Ours is answered late enough for two scrapes (one a second) to pass while it runs.
    backend.answerDelay(10_000);
    CompletableFuture<HttpResponse<String>> first = send(proxy, "first", "sk-a-0000000000", null);
    assertTrue(Poll.until(DEADLINE, () -> order().size() == 1), "the first request did not arrive");
    // The engine now runs the other client's request and ours: both slots taken, though this gateway has one in
    // flight of the two max_in_flight allows. Before the next scrape the gateway counts its own send; after it, the
    // engine's figure says the same.
    backend.engineMetrics("vllm:num_requests_waiting 0\nvllm:num_requests_running 2\n");
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(List.of(first));
    queue(proxy, answers, "second", "sk-b-0000000000", null);
    long scrapedBefore = stats.engineLoad(System.nanoTime(), Long.MAX_VALUE).scrapedAtNanos();
    assertTrue(Poll.until(DEADLINE, () -> stats.engineLoad(System.nanoTime(), Long.MAX_VALUE).scrapedAtNanos() != scrapedBefore),
        "no new scrape");
    assertEquals(1, queued(proxy));
    assertEquals(List.of("first"), order());
    // The other client's request ends: a slot is free while ours still runs, and the next scrape sends the second.
    backend.engineMetrics("vllm:num_requests_waiting 0\nvllm:num_requests_running 1\n");
    assertTrue(Poll.until(DEADLINE, () -> order().size() == 2), "the second request was not sent to the free slot");
    assertFalse(first.isDone(), "the first had already ended: the second was not shown to go to the engine's free slot");
    assertEquals(0, queued(proxy));
    allOk(answers);
  }
}
