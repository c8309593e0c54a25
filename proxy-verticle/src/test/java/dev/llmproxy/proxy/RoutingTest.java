package dev.llmproxy.proxy;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Load balancing, model-aware routing, fallback, retries and passive health, against real mock backends. */
@ExtendWith(VertxExtension.class)
class RoutingTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private final List<MockLlmBackend> backends = new ArrayList<>();

  @AfterEach
  void stop() {
    backends.forEach(MockLlmBackend::close);
  }

  private MockLlmBackend backend(Vertx vertx) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, 0));
    backends.add(backend);
    return backend;
  }

  private static JsonObject entry(String name, MockLlmBackend backend) {
    return new JsonObject().put("name", name).put("url", backend.baseUrl());
  }

  private static ProxyHarness proxy(Vertx vertx, JsonArray backends, JsonObject routing) {
    return Http.await(ProxyHarness.start(vertx, List.of(),
        new JsonObject().put("backends", backends).put("routing", routing)));
  }

  @Test
  void weightsSplitTrafficInProportion(Vertx vertx) {
    MockLlmBackend heavy = backend(vertx);
    MockLlmBackend light = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("heavy", heavy).put("weight", 3)).add(entry("light", light)),
        new JsonObject().put("load_balance", "weighted"));
    for (int i = 0; i < 1000; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    int toHeavy = heavy.completions();
    assertTrue(toHeavy >= 740 && toHeavy <= 760, "3:1 of 1000 should be ~750, was " + toHeavy);
    assertEquals(1000, toHeavy + light.completions());
  }

  @Test
  void leastConnectionsAvoidsTheBackendHoldingASlowStream(Vertx vertx) throws Exception {
    MockLlmBackend a = backend(vertx);
    MockLlmBackend b = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("a", a)).add(entry("b", b)),
        new JsonObject().put("load_balance", "least_conn"));
    Http.OpenStream stream = Http.openStream(proxy.client, "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":50}", 200);
    MockLlmBackend holding = a.completions() == 1 ? a : b;
    MockLlmBackend free = holding == a ? b : a;

    for (int i = 0; i < 10; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    assertEquals(1, holding.completions(), "new work went to the backend that was busy with a stream");
    assertEquals(10, free.completions());
    stream.abort();
  }

  /**
   * The slow backend's delay: far above what a loaded 2-core machine adds to a loopback request (single requests to
   * an undelayed backend were seen at up to ~100 ms there, so a delay of 60 ms did not tell the two apart).
   */
  private static final int SLOW_MS = 300;

  @Test
  void latencyBasedPrefersTheFasterBackendAndWinsBackARecoveredOne(Vertx vertx) throws Exception {
    warmUpTheJvm();
    MockLlmBackend slow = backend(vertx).answerDelay(SLOW_MS);
    MockLlmBackend fast = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("slow", slow)).add(entry("fast", fast)),
        new JsonObject().put("load_balance", "latency_based"));
    // A backend's first sample seeds its average, and a loaded machine can make any one request slow (a first one
    // to the fast backend was seen above 300 ms): until the decay (half-life 10 s) or new samples wash that out, the
    // other backend may win. How long that takes depends on the clock, so each preference is waited for with a
    // deadline (three wins in a row), then held to over the requests that follow.
    StringBuilder served = new StringBuilder();
    assertTrue(winsThreeInARow(proxy, slow, fast, " F", served), "the fast backend never won three in a row: " + served);
    int fastBefore = fast.completions();
    served.append(" |");
    for (int i = 0; i < 40; i++) {
      served.append(serve(proxy, slow, fast));
    }
    assertTrue(fast.completions() - fastBefore >= 36,
        "fast got " + (fast.completions() - fastBefore) + " of 40: " + served);

    // The fast backend's average climbs with each slow answer while the idle one's decays; once it is tried, the
    // recovered backend's own average falls a fifth per answer, so it may lose a few more turns before it wins.
    slow.answerDelay(0);
    fast.answerDelay(SLOW_MS);
    served.append(" | swapped:");
    assertTrue(winsThreeInARow(proxy, slow, fast, " S", served),
        "the recovered backend never won three requests in a row: " + served);
    int slowBefore = slow.completions();
    served.append(" |");
    for (int i = 0; i < 10; i++) {
      served.append(serve(proxy, slow, fast));
    }
    System.out.println("latency_based (S: the backend slow at first, | between waiting and holding):" + served);
    assertTrue(slow.completions() - slowBefore >= 9, "once recovered, the formerly slow backend should win; it got "
        + (slow.completions() - slowBefore) + " of 10: " + served);
  }

  /**
   * Requests until {@code winner} (" S" or " F", as {@link #serve} says) answered three in a row; false after 120 s.
   * At a load average of 52 the switch back took 106 requests (the slow backend's first sample, over a second, had
   * to be worked down a fifth per answer, each answer waiting for the decay): the deadline leaves room for that.
   */
  private static boolean winsThreeInARow(ProxyHarness proxy, MockLlmBackend slow, MockLlmBackend fast, String winner,
      StringBuilder served) {
    return Poll.until(Duration.ofSeconds(120),
        () -> served.append(serve(proxy, slow, fast)).toString().endsWith(winner.repeat(3)));
  }

  /** One request: " S" when the slow backend answered it, " F" when the fast one did (the failures' trace). */
  private static String serve(ProxyHarness proxy, MockLlmBackend slow, MockLlmBackend fast) {
    int before = slow.completions();
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    return slow.completions() > before ? " S" : " F";
  }

  /**
   * Requests through a proxy of another Vert.x until 20 were answered: the JVM's first requests (class loading, JIT)
   * took a second on a loaded machine, and that, as the slow backend's first sample, would keep it from being tried
   * again for tens of seconds after it recovers (only the decay brings a backend's average down while it gets no
   * traffic). Nothing is asserted here: at a load average of 30 the first proxy deployed took more than 10 s and its
   * first request more than the client's 10 s, and such a request has warmed the JVM all the same.
   */
  private static void warmUpTheJvm() throws Exception {
    Vertx other = Vertx.vertx();
    try {
      MockLlmBackend backend = coldAwait(MockLlmBackend.start(other, 0));
      ProxyHarness proxy = coldAwait(ProxyHarness.start(other, List.of(backend.baseUrl()), new JsonObject()));
      AtomicInteger answered = new AtomicInteger();
      Poll.until(Duration.ofSeconds(60), () -> {
        try {
          return Http.post(proxy.client, "/v1/chat/completions", CHAT).status() == 200
              && answered.incrementAndGet() >= 20;
        } catch (java.io.UncheckedIOException | java.util.concurrent.CompletionException tooSlow) {
          return false;
        }
      });
    } finally {
      coldAwait(other.close());
    }
  }

  /** A step of the warm-up, which may be slow (see {@link #warmUpTheJvm()}). */
  private static <T> T coldAwait(io.vertx.core.Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void requestsGoOnlyToBackendsServingTheirModelAndModelsIsTheUnion(Vertx vertx) {
    MockLlmBackend llama = backend(vertx);
    MockLlmBackend qwen = backend(vertx);
    MockLlmBackend any = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray()
            .add(entry("llama", llama).put("models", new JsonArray().add("llama-3")))
            .add(entry("qwen", qwen).put("models", new JsonArray().add("qwen-2.5").add("qwen-coder")))
            .add(entry("any", any)),
        new JsonObject());
    any.failNext(1000, 503, null);
    for (int i = 0; i < 5; i++) {
      Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"qwen-coder\",\"messages\":[]}");
      Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"llama-3\",\"messages\":[]}");
    }
    assertEquals(5, qwen.completions());
    assertTrue(llama.completions() >= 2, "llama served some of its model's requests");
    assertTrue(qwen.received().stream().allMatch(r -> r.json().getString("model").equals("qwen-coder")));

    Http.Answer models = Http.call(proxy.client, HttpMethod.GET, "/v1/models", Map.of(), null);
    Set<String> ids = new HashSet<>();
    models.json().getJsonArray("data").forEach(m -> ids.add(((JsonObject) m).getString("id")));
    assertEquals(Set.of("llama-3", "qwen-2.5", "qwen-coder", "mock"), ids, "configured lists plus what 'any' reports");
    assertEquals("list", models.json().getString("object"));
  }

  @Test
  void aModelNoBackendServesIs404(Vertx vertx) {
    MockLlmBackend llama = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("llama", llama).put("models", new JsonArray().add("llama-3"))),
        new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[]}");
    assertEquals(404, answer.status());
    assertEquals("model_not_found", answer.error().getString("code"));
  }

  @Test
  void aFiveHundredIsRetriedOnAnotherBackendAndCounted(Vertx vertx) {
    MockLlmBackend broken = backend(vertx).failNext(1000, 500, null);
    MockLlmBackend healthy = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("broken", broken)).add(entry("healthy", healthy)),
        new JsonObject().put("retry", new JsonObject().put("initial_wait", "10ms")));
    for (int i = 0; i < 6; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    String metrics = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    assertTrue(metrics.contains("llmproxy_retries_total{backend=\"broken\",reason=\"500\"}"), metrics);
    assertTrue(metrics.contains("llmproxy_backend_ejections_total{backend=\"broken\"} 1.0"), metrics);
    assertTrue(metrics.contains("llmproxy_backend_up{backend=\"broken\"} 0.0"), metrics);
    assertEquals(3, broken.completions(), "ejected after three failures: no more traffic during its cooldown");

    broken.failNext(0, 500, null);
    assertTrue(Poll.until(Duration.ofSeconds(15), () -> {
      Http.post(proxy.client, "/v1/chat/completions", CHAT);
      return Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text()
          .contains("llmproxy_backend_recoveries_total{backend=\"broken\"} 1.0");
    }), "after its cooldown the backend is tried again, answers, and is counted as recovered");
  }

  @Test
  void withRetriesOffTheBackendsErrorReachesTheClient(Vertx vertx) {
    MockLlmBackend broken = backend(vertx).failNext(1, 502, null);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("broken", broken)),
        new JsonObject().put("retry", new JsonObject().put("enabled", false)));
    assertEquals(502, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
  }

  @Test
  void retryAfterIsHonouredBeforeTryingTheSameBackendAgain(Vertx vertx) {
    MockLlmBackend busy = backend(vertx).failNext(1, 429, "1");
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("busy", busy)),
        new JsonObject().put("retry", new JsonObject().put("retry_on", new JsonArray().add("429").add("5xx"))));
    long start = System.nanoTime();
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(tookMs >= 1000, "retried after " + tookMs + " ms, before its Retry-After of 1 s");
    assertEquals(2, busy.completions());
  }

  @Test
  void aFallbackChainIsFollowedInOrderForItsModels(Vertx vertx) {
    MockLlmBackend primary = backend(vertx).failNext(1000, 503, null);
    MockLlmBackend second = backend(vertx).failNext(1000, 503, null);
    MockLlmBackend third = backend(vertx);
    MockLlmBackend other = backend(vertx);
    JsonObject chain = new JsonObject().put("models", new JsonArray().add("chained"))
        .put("primary", primary.baseUrl()).put("fallback", new JsonArray().add(second.baseUrl()).add(third.baseUrl()));
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("primary", primary)).add(entry("second", second))
            .add(entry("third", third)).add(entry("other", other)),
        new JsonObject().put("fallback", new JsonArray().add(chain)).put("retry", new JsonObject().put("initial_wait", "10ms")));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"chained\",\"messages\":[]}").status());
    assertEquals(1, primary.completions());
    assertEquals(1, second.completions());
    assertEquals(1, third.completions());
    assertEquals(0, other.completions(), "the chain, not the strategy, chose the order");
  }

  @Test
  void routingSwitchedOffGoesRoundRobinOnceWithoutStrategyFallbackOrRetry(Vertx vertx) {
    MockLlmBackend a = backend(vertx);
    MockLlmBackend b = backend(vertx).failNext(1, 503, null);
    JsonObject chain = new JsonObject().put("primary", a.baseUrl()).put("fallback", new JsonArray().add(b.baseUrl()));
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("a", a)).add(entry("b", b)),
        new JsonObject().put("enabled", false).put("load_balance", "least_connections").put("fallback", new JsonArray().add(chain))
            .put("retry", new JsonObject().put("initial_wait", "10ms")));
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      statuses.add(Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    assertEquals(2, a.completions(), "neither the chain's primary nor least_connections chose: " + statuses);
    assertEquals(2, b.completions());
    assertEquals(1, statuses.stream().filter(s -> s == 503).count(), "the failure was not retried: " + statuses);
  }

  @Test
  void aBackendKilledDuringLoadCostsNoClientAnError(Vertx vertx) {
    MockLlmBackend doomed = backend(vertx);
    MockLlmBackend survivor = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("doomed", doomed)).add(entry("survivor", survivor)),
        new JsonObject().put("retry", new JsonObject().put("initial_wait", "10ms")));
    List<CompletableFuture<Integer>> answers = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      if (i == 100) {
        doomed.close();
      }
      answers.add(Http.postAsync(proxy.client, "/v1/chat/completions", CHAT));
      if (i % 10 == 9) {
        answers.get(i).orTimeout(10, TimeUnit.SECONDS).join();
      }
    }
    for (CompletableFuture<Integer> answer : answers) {
      assertEquals(200, answer.orTimeout(10, TimeUnit.SECONDS).join());
    }
  }

  @Test
  void affinityKeepsASessionOnOneBackendUntilItIsEjected(Vertx vertx) {
    MockLlmBackend a = backend(vertx);
    MockLlmBackend b = backend(vertx);
    MockLlmBackend c = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("a", a)).add(entry("b", b)).add(entry("c", c)),
        new JsonObject().put("affinity", new JsonObject().put("enabled", true).put("header", "X-Session-ID"))
            .put("retry", new JsonObject().put("initial_wait", "10ms")));
    for (int i = 0; i < 10; i++) {
      Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Session-ID", "conversation-1"), CHAT);
    }
    List<MockLlmBackend> all = List.of(a, b, c);
    MockLlmBackend home = all.stream().filter(m -> m.completions() == 10).findFirst()
        .orElseThrow(() -> new AssertionError("the session was spread: " + all.stream().map(MockLlmBackend::completions).toList()));

    Set<Integer> spread = new HashSet<>();
    for (int s = 0; s < 30; s++) {
      Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Session-ID", "user-" + s), CHAT);
    }
    all.forEach(m -> spread.add(m.completions()));
    assertTrue(spread.size() > 1, "different sessions land on different backends");

    home.failNext(1000, 503, null);
    int before = home.completions();
    for (int i = 0; i < 10; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Session-ID", "conversation-1"), CHAT).status());
    }
    assertEquals(3, home.completions() - before, "after three failures the session moved on");
    MockLlmBackend newHome = all.stream().filter(m -> m != home).max((x, y) -> x.completions() - y.completions()).orElseThrow();
    assertTrue(newHome.received().stream().filter(r -> "conversation-1".equals(r.headers().get("X-Session-ID"))).count() >= 10,
        "the session settled on one other backend");
  }

  @Test
  void aRoutingScriptMayPickTheBackend(Vertx vertx) {
    MockLlmBackend a = backend(vertx);
    MockLlmBackend b = backend(vertx);
    String lua = """
        if request.model == "big" then
          for _, backend in ipairs(backends) do
            if backend.name == "b" then return backend.name end
          end
        end
        return nil
        """;
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("a", a)).add(entry("b", b)),
        new JsonObject().put("script", new JsonObject().put("enabled", true).put("script", lua)));
    for (int i = 0; i < 6; i++) {
      Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"big\",\"messages\":[]}");
    }
    assertEquals(6, b.completions());
    for (int i = 0; i < 6; i++) {
      Http.post(proxy.client, "/v1/chat/completions", CHAT);
    }
    assertEquals(3, a.completions(), "other models are left to the strategy");
  }

  @Test
  void aRunawayRoutingScriptIsCutOffAndTheStrategyChooses(Vertx vertx) {
    MockLlmBackend a = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("a", a)),
        new JsonObject().put("script", new JsonObject().put("enabled", true).put("timeout", "50ms")
            .put("script", "while true do end")));
    long start = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    long perRequestMs = (System.nanoTime() - start) / 3_000_000;
    assertTrue(perRequestMs < 1000, "each request waited " + perRequestMs + " ms for the script");
  }

  @Test
  void aFlowingStreamOutlivesTheTimeoutButAnIdleOneIsCut(Vertx vertx) {
    MockLlmBackend backend = backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(entry("b", backend).put("timeout", "300ms")),
        new JsonObject().put("retry", new JsonObject().put("enabled", false)));

    // 12 chunks 100 ms apart: 1.2 s in all, four times the timeout, but never 300 ms without a byte.
    Http.Answer flowing = Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Mock-Interval-Ms", "100"),
        "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":12}");
    assertEquals(12, flowing.text().split("\"delta\"", -1).length - 1, flowing.text());
    assertTrue(flowing.text().endsWith("data: [DONE]\n\n"));

    // Chunks 600 ms apart: the first arrives, then the stream goes quiet for longer than the timeout.
    Http.Answer idle = Http.post(proxy.client, "/v1/chat/completions", Map.of("X-Mock-Interval-Ms", "600"),
        "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":5}");
    assertTrue(idle.text().contains("upstream_error"), "an idle stream ends with the error frame: " + idle.text());
    assertEquals(1, idle.text().split("\"delta\"", -1).length - 1, idle.text());
  }
}
