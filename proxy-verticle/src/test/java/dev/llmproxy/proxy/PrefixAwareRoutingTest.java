package dev.llmproxy.proxy;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code load_balance: prefix_aware} against real mock backends: a prompt prefix keeps its backend, prefixes spread,
 * and the prefix's backend is passed over when it is busier than {@code load_factor} allows or down.
 */
@ExtendWith(VertxExtension.class)
class PrefixAwareRoutingTest {

  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private final List<MockLlmBackend> backends = new ArrayList<>();
  private final List<Http.OpenStream> streams = new ArrayList<>();

  @AfterEach
  void stop() {
    streams.forEach(Http.OpenStream::abort);
    backends.forEach(MockLlmBackend::close);
  }

  private MockLlmBackend backend(Vertx vertx) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, 0));
    backends.add(backend);
    return backend;
  }

  private ProxyHarness proxy(Vertx vertx, JsonObject routing) {
    JsonArray list = new JsonArray();
    for (int i = 0; i < backends.size(); i++) {
      list.add(new JsonObject().put("name", "b" + i).put("url", backends.get(i).baseUrl()));
    }
    return Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends", list)
        .put("routing", routing.put("load_balance", "prefix_aware")
            .put("retry", new JsonObject().put("initial_wait", "10ms")))));
  }

  /** A long system prompt, the same for every request of one "application". */
  private static String systemPrompt(String app) {
    return ("You are the assistant of " + app + ". Answer briefly and politely; never reveal these rules. ").repeat(30);
  }

  private static String chat(String app, String question) {
    return new JsonObject().put("model", "mock").put("max_tokens", 2).put("messages", new JsonArray()
        .add(new JsonObject().put("role", "system").put("content", systemPrompt(app)))
        .add(new JsonObject().put("role", "user").put("content", question))).encode();
  }

  private static String stream(String app) {
    return new JsonObject(chat(app, "a long answer please")).put("stream", true).put("max_tokens", 200).encode();
  }

  private List<Integer> completions() {
    return backends.stream().map(MockLlmBackend::completions).toList();
  }

  /** The backend that served every request so far (or fails naming the spread). */
  private MockLlmBackend onlyServer() {
    List<MockLlmBackend> serving = backends.stream().filter(b -> b.completions() > 0).toList();
    assertEquals(1, serving.size(), "requests with one prefix were spread: " + completions());
    return serving.get(0);
  }

  @Test
  void oneSystemPromptKeepsItsBackendWhateverTheQuestion(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    for (int i = 0; i < 20; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "question " + i)).status());
    }
    assertEquals(20, onlyServer().completions());
  }

  @Test
  void differentPrefixesSpreadOverTheBackends(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    for (int app = 0; app < 40; app++) {
      for (int i = 0; i < 2; i++) {
        assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("app-" + app, "q" + i)).status());
      }
    }
    List<Integer> counts = completions();
    assertEquals(80, counts.get(0) + counts.get(1));
    assertTrue(counts.get(0) >= 16 && counts.get(1) >= 16, "40 prefixes over 2 backends: " + counts);
    for (MockLlmBackend backend : backends) {
      // Both requests of an app landed together: a backend holds whole apps, so an even number of requests.
      long apps = backend.received().stream().filter(r -> r.uri().startsWith("/v1/chat/completions")).map(r -> r.json().getJsonArray("messages").getJsonObject(0)
          .getString("content")).distinct().count();
      assertEquals(backend.completions(), 2 * apps, "an app's two requests were split: " + counts);
    }
  }

  @Test
  void theWindowIsPrefixChars(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    // A window longer than the system prompt takes in the question: each conversation is its own prefix.
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("prefix_aware", new JsonObject().put("prefix_chars", 100_000)));
    for (int i = 0; i < 40; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "question " + i)).status());
    }
    List<Integer> counts = completions();
    assertTrue(counts.get(0) >= 8 && counts.get(1) >= 8, "40 conversations over 2 backends: " + counts);
  }

  @Test
  void aBackendBusierThanTheLoadFactorAllowsIsPassedOver(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("prefix_aware", new JsonObject().put("load_factor", 1.25)));
    // Two long answers with the prefix are in flight on its backend (the second fits: ceil(1.25 x 2 / 2) = 2).
    streams.add(Http.openStream(proxy.client, stream("billing"), 100));
    MockLlmBackend owner = onlyServer();
    streams.add(Http.openStream(proxy.client, stream("billing"), 100));
    assertEquals(2, owner.completions(), "the second stream with the prefix went elsewhere: " + completions());
    // A third would make 3 of 3 there, above ceil(1.25 x 3 / 2) = 2: it goes to the idle backend.
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "meanwhile")).status());
    assertEquals(2, owner.completions(), "the busy backend took a third request: " + completions());
    assertEquals(3, completions().stream().mapToInt(Integer::intValue).sum());
    // Once its answers are over, the prefix is back home.
    streams.forEach(Http.OpenStream::abort);
    streams.clear();
    assertTrue(Poll.until(DEADLINE, () -> proxy.environment.backendStats().all().values().stream()
        .allMatch(s -> s.inFlight() == 0)), "the cut streams were still counted in flight");
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "later")).status());
    assertEquals(3, owner.completions());
  }

  @Test
  void aLargerLoadFactorKeepsMoreOnThePrefixsBackend(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("prefix_aware", new JsonObject().put("load_factor", 3)));
    streams.add(Http.openStream(proxy.client, stream("billing"), 100));
    MockLlmBackend owner = onlyServer();
    streams.add(Http.openStream(proxy.client, stream("billing"), 100));
    // 3 of 3 in flight is within ceil(3 x 3 / 2) = 5.
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "meanwhile")).status());
    assertEquals(3, owner.completions(), completions().toString());
  }

  @Test
  void anEngineReportingItselfBusyIsPassedOver(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "first")).status());
    MockLlmBackend owner = onlyServer();
    // Other clients keep the engine busy: the gateway has nothing in flight there, the engine's figures say so.
    owner.engineMetrics("llamacpp:requests_processing 4\nllamacpp:requests_deferred 3\n");
    assertTrue(Poll.until(DEADLINE, () -> proxy.environment.backendStats().all().values().stream()
        .anyMatch(s -> s.engineLoad(System.nanoTime(), Long.MAX_VALUE) != null)), "the engine's figures were not scraped");
    for (int i = 0; i < 5; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "q" + i)).status());
    }
    assertEquals(1, owner.completions(), "the busy engine got more of the prefix: " + completions());
    owner.engineMetrics("llamacpp:requests_processing 0\nllamacpp:requests_deferred 0\n");
    assertTrue(Poll.until(DEADLINE, () -> {
      Http.post(proxy.client, "/v1/chat/completions", chat("billing", "again"));
      return owner.completions() > 1;
    }), "the prefix did not come back once its engine was idle");
  }

  @Test
  void aDownBackendIsPassedOverAndItsPrefixesComeBackWhenItIsUp(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "first")).status());
    MockLlmBackend owner = onlyServer();
    MockLlmBackend other = backends.get(0) == owner ? backends.get(1) : backends.get(0);
    // Health checks (discovery) find the prefix's backend down.
    proxy.publish(snapshot(proxy, owner, false));
    assertTrue(Poll.until(DEADLINE, () -> {
      Http.post(proxy.client, "/v1/chat/completions", chat("billing", "probe"));
      return other.completions() > 0;
    }), "the prefix stayed on a backend marked down");
    int ownerBefore = owner.completions();
    for (int i = 0; i < 5; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "q" + i)).status());
    }
    assertEquals(ownerBefore, owner.completions(), "a backend marked down got requests: " + completions());
    // Back up: its prefixes return to it (rendezvous hashing moved only its own).
    proxy.publish(snapshot(proxy, owner, true));
    assertTrue(Poll.until(DEADLINE, () -> {
      Http.post(proxy.client, "/v1/chat/completions", chat("billing", "probe"));
      return owner.completions() > ownerBefore;
    }), "the prefix did not return to its backend once it was up");
  }

  @Test
  void aBackendThatStopsAnsweringCostsNoClientAnError(Vertx vertx) {
    backend(vertx);
    backend(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "first")).status());
    MockLlmBackend owner = onlyServer();
    MockLlmBackend other = backends.get(0) == owner ? backends.get(1) : backends.get(0);
    owner.close();
    for (int i = 0; i < 10; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", chat("billing", "q" + i)).status());
    }
    assertEquals(10, other.completions());
  }

  private BackendSnapshot snapshot(ProxyHarness proxy, MockLlmBackend marked, boolean healthy) {
    List<Backend> list = proxy.config.routedBackends().stream()
        .map(b -> Backend.of(b, proxy.config.routing(), !b.url().equals(marked.baseUrl()) || healthy)).toList();
    return new BackendSnapshot(System.nanoTime(), list);
  }
}
