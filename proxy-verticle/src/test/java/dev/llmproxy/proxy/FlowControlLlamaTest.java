package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code routing.flow_control} in front of two real llama.cpp servers with one slot each ({@code -np 1}), so that
 * two generations fill them and the rest wait: in the gateway's queue, by band and tenant, once each server runs
 * one and (by its own figures or the gateway's count) has {@code max_waiting: 1} waiting. A generation is
 * {@value #TOKENS} tokens of the tiny model (a fraction of a second idle, longer on a loaded machine); the bounds
 * are counted in service times measured in the test, and generous.
 */
@ExtendWith(VertxExtension.class)
class FlowControlLlamaTest {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FlowControlLlamaTest.class);
  private static final int TOKENS = 1000;
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final HttpClient JDK = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static LlamaServer first;
  private static LlamaServer second;

  /** Requests that completed, by label, in order of completion. */
  private final List<String> completed = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void startServers() {
    first = LlamaServer.start(List.of("--alias", "tiny", "-np", "1"));
    second = LlamaServer.start(List.of("--alias", "tiny", "-np", "1"));
  }

  @AfterAll
  static void stopServers() {
    if (first != null) {
      first.close();
    }
    if (second != null) {
      second.close();
    }
  }

  @BeforeEach
  void tenants(Vertx vertx) {
    // Tenants are keys (the auth verticle's decision, answered here as it would).
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      String key = AuthCheck.fromJson(message.body()).apiKey();
      message.reply(new AuthDecision(true, 200, null, null, key, null, key, null, null, null, null, null, 0).toJson());
    });
  }

  private ProxyHarness proxy(Vertx vertx, JsonObject flowControl) {
    return Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject()
        .put("backends", new JsonArray()
            .add(new JsonObject().put("name", "first").put("url", first.baseUrl()))
            .add(new JsonObject().put("name", "second").put("url", second.baseUrl())))
        .put("auth", new JsonObject().put("enabled", true))
        .put("routing", new JsonObject().put("load_balance", "least_connections")
            .put("retry", new JsonObject().put("enabled", false))
            .put("flow_control", new JsonObject().put("enabled", true).put("max_in_flight", 1).put("max_waiting", 1)
                .mergeIn(flowControl)))));
  }

  private static String chat(String label, int tokens) {
    return new JsonObject().put("model", "tiny").put("max_tokens", tokens).put("ignore_eos", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", label))).encode();
  }

  /** Sends a generation as {@code key} (with {@code priority}, when not null); its label joins {@link #completed} when answered. */
  private CompletableFuture<HttpResponse<String>> send(ProxyHarness proxy, String label, String key, Integer priority) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(120))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(chat(label, TOKENS)));
    if (priority != null) {
      request.header("X-Priority", priority.toString());
    }
    return JDK.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
      completed.add(label);
      return response;
    });
  }

  private static double queued(ProxyHarness proxy) {
    return proxy.environment.registry().find("llmproxy_flow_queue_length").gauges().stream().mapToDouble(Gauge::value).sum();
  }

  private static int inFlight(ProxyHarness proxy) {
    return proxy.environment.backendStats().all().values().stream().mapToInt(BackendStats::inFlight).sum();
  }

  /** Sends one more and waits until the gateway holds it: queued, or in flight to a server. */
  private CompletableFuture<HttpResponse<String>> admit(ProxyHarness proxy, String label, String key, Integer priority) {
    double before = queued(proxy) + inFlight(proxy);
    CompletableFuture<HttpResponse<String>> answer = send(proxy, label, key, priority);
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) + inFlight(proxy) >= before + 1 || answer.isDone()),
        label + " was neither queued nor sent");
    return answer;
  }

  /** One generation alone, end to end through the gateway: the unit of the bounds. */
  private long serviceMillis(ProxyHarness proxy) {
    long start = System.nanoTime();
    HttpResponse<String> alone = send(proxy, "alone", "sk-probe-00000000", null).orTimeout(120, TimeUnit.SECONDS).join();
    assertEquals(200, alone.statusCode(), alone.body());
    completed.clear();
    return Math.max(1, (System.nanoTime() - start) / 1_000_000);
  }

  private static void allOk(List<CompletableFuture<HttpResponse<String>>> answers) {
    for (CompletableFuture<HttpResponse<String>> answer : answers) {
      HttpResponse<String> response = answer.orTimeout(180, TimeUnit.SECONDS).join();
      assertEquals(200, response.statusCode(), response.body());
    }
  }

  /** Tenant A's flood of {@code flood} generations, each held by the gateway (queued or sent) before the next. */
  private List<CompletableFuture<HttpResponse<String>>> flood(ProxyHarness proxy, int flood) {
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (int i = 0; i < flood; i++) {
      answers.add(admit(proxy, "a" + i, "sk-tenant-a-000000", null));
    }
    return answers;
  }

  /** What tenant B's one request met behind the flood: its time end to end, and how many of A's finished after it. */
  private record Behind(long bMillis, int aAfterB) {
  }

  /** Sends B's request now, waits for it and then for the whole flood. */
  private Behind bBehind(ProxyHarness proxy, List<CompletableFuture<HttpResponse<String>>> floodAnswers) {
    long start = System.nanoTime();
    HttpResponse<String> b = send(proxy, "b", "sk-tenant-b-000000", null).orTimeout(180, TimeUnit.SECONDS).join();
    long bMillis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(200, b.statusCode(), b.body());
    allOk(floodAnswers);
    return new Behind(bMillis, completed.size() - 1 - completed.indexOf("b"));
  }

  @Test
  void aFloodFromOneTenantDelaysAnotherByAboutOneServiceTime(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    long service = serviceMillis(proxy);
    int flood = 10;
    List<CompletableFuture<HttpResponse<String>>> floodAnswers = flood(proxy, flood);
    assertTrue(queued(proxy) >= 4, "the flood did not queue in the gateway: " + queued(proxy));
    Behind behind = bBehind(proxy, floodAnswers);
    long bMillis = behind.bMillis();
    int aAfterB = behind.aAfterB();
    LOG.info("one generation alone {} ms; B behind a flood of {} from A: {} ms; A's finished after B: {}; order {}",
        service, flood, bMillis, aAfterB, completed);
    // First come first served, B would finish last: behind ~flood/2 generations on each server. Fair share across
    // tenants sends it with the next free slot: at most the generation running there and one waiting at the engine
    // before its own. Bounded by 4 service times plus 2 s of slack for a loaded machine (against ~6 for FIFO).
    assertTrue(bMillis <= 4 * service + 2000, "B took " + bMillis + " ms; one generation alone " + service + " ms");
    assertTrue(aAfterB >= flood / 2, "only " + aAfterB + " of A's flood finished after B: " + completed);
  }

  /**
   * One generation on each server at once, end to end through the gateway: the unit of the {@code max_waiting: 0}
   * bound, measured as the flood runs (two servers generating together on a shared machine are slower than one).
   */
  private long pairServiceMillis(ProxyHarness proxy) {
    long start = System.nanoTime();
    CompletableFuture<HttpResponse<String>> one = send(proxy, "pair1", "sk-probe-00000001", null);
    CompletableFuture<HttpResponse<String>> two = send(proxy, "pair2", "sk-probe-00000002", null);
    allOk(List.of(one, two));
    completed.clear();
    return Math.max(1, (System.nanoTime() - start) / 1_000_000);
  }

  @Test
  void withMaxWaitingZeroTheEnginesQueueNothingAndAFloodDelaysAnotherByOneServiceTime(Vertx vertx) {
    // max_in_flight 3 is deliberately wrong: each server says it has one slot (GET /props), and that wins.
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("max_waiting", 0).put("max_in_flight", 3));
    assertTrue(Poll.until(DEADLINE, () -> proxy.environment.backendStats().all().values().stream()
        .allMatch(s -> s.engineSlots() == 1)), "the servers' slots were not read from /props");
    long service = pairServiceMillis(proxy);
    int flood = 10;
    List<CompletableFuture<HttpResponse<String>>> floodAnswers = flood(proxy, flood);
    // One generation per server, nothing waiting in either engine: the gateway holds the rest.
    assertEquals(2, inFlight(proxy), "requests at the servers");
    assertEquals(flood - 2, queued(proxy), 0.0, "requests held by the gateway");
    Behind behind = bBehind(proxy, floodAnswers);
    long bMillis = behind.bMillis();
    int aAfterB = behind.aAfterB();
    LOG.info("max_waiting 0: two generations at once {} ms; B behind a flood of {} from A: {} ms; A's finished after B: {};"
        + " order {}", service, flood, bMillis, aAfterB, completed);
    // B waits at most for one of the two running generations to end (the first free slot is B's: A's two running
    // requests took their fair-share turns), then runs its own: 2 service times. The slack is 25 % of one
    // service time plus 500 ms: generation speed drifts between the measured pair and the flood on a shared 2-core
    // machine, and the gateway's hop from a response's end to the next send is an event-loop turn.
    assertTrue(bMillis <= 2 * service + service / 4 + 500,
        "B took " + bMillis + " ms; two generations at once " + service + " ms");
    // All of A's held requests start after B; one of A's two running ones may end after it on a slower server.
    assertTrue(aAfterB >= flood - 3, "only " + aAfterB + " of A's flood finished after B: " + completed);
  }

  @Test
  void aHighBandOvertakesTheLowBand(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      answers.add(admit(proxy, "low" + i, "sk-tenant-a-000000", null));
    }
    int queuedLow = (int) queued(proxy);
    assertTrue(queuedLow >= 3, "the low band did not queue in the gateway: " + queuedLow);
    CompletableFuture<HttpResponse<String>> high = send(proxy, "high", "sk-tenant-a-000000", 5);
    answers.add(high);
    allOk(answers);
    int lowAfterHigh = completed.size() - 1 - completed.indexOf("high");
    LOG.info("{} low requests queued when the high one came; {} finished after it: {}", queuedLow, lowAfterHigh, completed);
    // Every low request still in the gateway's queue leaves it after the high one; one of them may still finish
    // first on the other server.
    assertTrue(lowAfterHigh >= queuedLow - 2 && lowAfterHigh >= 1,
        queuedLow + " low requests were queued; " + lowAfterHigh + " finished after the high one: " + completed);
  }

  @Test
  void aFullQueueShedsWithOverloaded(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("max_queue", 2));
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    int sent = 0;
    while (queued(proxy) < 2) {
      assertTrue(sent < 8, "two servers and a queue of two held " + sent + " generations without the queue filling");
      answers.add(admit(proxy, "held" + sent, "sk-tenant-a-000000", null));
      sent++;
    }
    HttpResponse<String> refused = send(proxy, "refused", "sk-tenant-b-000000", null).orTimeout(60, TimeUnit.SECONDS).join();
    assertEquals(429, refused.statusCode(), refused.body());
    assertEquals("overloaded", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
    assertTrue(refused.headers().firstValue("Retry-After").isPresent(), "no Retry-After");
    allOk(answers);
    double shed = proxy.environment.registry().find("llmproxy_flow_shed").tag("reason", "max_queue").counter().count();
    assertEquals(1, shed);
  }

  @Test
  void aQueuedClientThatDisconnectsLeavesTheQueueAndIsNotMetered(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    while (queued(proxy) < 1) {
      assertTrue(answers.size() < 8, "the servers held " + answers.size() + " generations without queueing");
      answers.add(admit(proxy, "held" + answers.size(), "sk-tenant-a-000000", null));
    }
    int held = answers.size();
    HttpClientRequest leaving = Http.await(proxy.client.request(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/v1/chat/completions").putHeader("Authorization", "Bearer sk-tenant-b-000000")
        .putHeader("Content-Type", "application/json")));
    leaving.send(chat("gone", TOKENS));
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 2), "the request was not queued");
    leaving.connection().close();
    assertTrue(Poll.until(DEADLINE, () -> queued(proxy) == 1), "the request stayed in the queue");
    allOk(answers);
    assertEquals(0, queued(proxy));
    for (int i = 0; i < held; i++) {
      UsageRecord record = proxy.nextUsage();
      assertEquals(200, record.statusCode());
    }
    assertTrue(proxy.usage.poll(1, TimeUnit.SECONDS) == null, "a usage record for the client that left");
  }
}
