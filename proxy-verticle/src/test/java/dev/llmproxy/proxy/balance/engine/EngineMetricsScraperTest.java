package dev.llmproxy.proxy.balance.engine;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VertxExtension.class)
class EngineMetricsScraperTest {

  private static final Duration DEADLINE = Duration.ofSeconds(10);

  /** What one backend path answers; the server in the test serves them all. */
  private final AtomicReference<String> vllmText = new AtomicReference<>(vllm(1, 2));
  private final AtomicInteger slowOpen = new AtomicInteger();
  private final AtomicInteger slowMaxOpen = new AtomicInteger();
  private final AtomicInteger slowAnswered = new AtomicInteger();
  private Vertx vertx;
  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final Set<Thread> sinkThreads = ConcurrentHashMap.newKeySet();
  private final Set<Context> sinkContexts = ConcurrentHashMap.newKeySet();
  private HttpServer server;
  private String base;
  private EngineMetricsScraper scraper;

  record Event(String url, EngineLoad load, long atNanos) {
  }

  @BeforeEach
  void serve(Vertx vertx) throws Exception {
    this.vertx = vertx;
    server = vertx.createHttpServer().requestHandler(this::answer).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + server.actualPort();
  }

  @AfterEach
  void close() {
    if (scraper != null) {
      scraper.stop();
    }
  }

  private void answer(HttpServerRequest request) {
    switch (request.path()) {
      case "/v1/metrics" -> {
        if (!"Bearer k".equals(request.getHeader("Authorization"))) {
          request.response().setStatusCode(401).end();
          return;
        }
        request.response().putHeader("content-type", "text/plain; version=0.0.4").end(vllmText.get());
      }
      case "/llama/metrics" -> request.response().setChunked(true)
          .end("# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 3\nllamacpp:requests_deferred 0\n");
      case "/fails/metrics" -> request.response().setStatusCode(500).end("boom");
      case "/plain/metrics" -> request.response().end("ok\n");
      case "/huge/metrics" -> {
        request.response().setChunked(true);
        Buffer line = Buffer.buffer("# " + "x".repeat(1022) + "\n");
        Buffer mib = Buffer.buffer();
        for (int i = 0; i < 1024; i++) {
          mib.appendBuffer(line);
        }
        request.response().write(mib);
        request.response().write(mib);
        request.response().end(Buffer.buffer("tgi_queue_size 1\n"));
      }
      case "/hangs/metrics" -> {
        // never answered
      }
      case "/slow/metrics" -> {
        slowMaxOpen.accumulateAndGet(slowOpen.incrementAndGet(), Math::max);
        vertx.setTimer(400, id -> {
          slowOpen.decrementAndGet();
          slowAnswered.incrementAndGet();
          request.response().end("tgi_queue_size 2\ntgi_batch_current_size 5\n");
        });
      }
      default -> request.response().setStatusCode(404).end();
    }
  }

  private EngineMetricsScraper scraper(Vertx vertx, Duration interval, Duration timeout) {
    scraper = new EngineMetricsScraper(vertx, interval, timeout, (url, load) -> {
      sinkThreads.add(Thread.currentThread());
      sinkContexts.add(Vertx.currentContext());
      events.add(new Event(url, load, System.nanoTime()));
    });
    return scraper;
  }

  private static Backend backend(String name, String url) {
    return backend(name, url, Map.of());
  }

  private static Backend backend(String name, String url, Map<String, String> headers) {
    return new Backend(name, url, 1, 60_000, 5_000, 10, headers, List.of(), true);
  }

  private EngineLoad latest(String url) {
    for (int i = events.size() - 1; i >= 0; i--) {
      if (events.get(i).url().equals(url)) {
        return events.get(i).load();
      }
    }
    return null;
  }

  private long count(String url, boolean withLoad) {
    return events.stream().filter(e -> e.url().equals(url) && (e.load() != null) == withLoad).count();
  }

  private static String vllm(int waiting, int running) {
    return "# HELP vllm:num_requests_waiting Number of requests waiting.\n"
        + "# TYPE vllm:num_requests_waiting gauge\n"
        + "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} " + waiting + ".0\n"
        + "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} " + running + ".0\n"
        + "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n";
  }

  @Test
  void theSinkFollowsTheLoadUnderABasePathOnOneEventLoop(Vertx vertx) {
    String url = base + "/v1/";
    EngineMetricsScraper scraper = scraper(vertx, Duration.ofMillis(100), Duration.ofSeconds(2));
    scraper.track(List.of(backend("a", url, Map.of("Authorization", "Bearer k"))));
    scraper.start();

    assertTrue(Poll.until(DEADLINE, () -> latest(url) != null), "first load; events " + events);
    EngineLoad first = latest(url);
    assertEquals("vllm", first.engine());
    assertEquals(1, first.waiting());
    assertEquals(2, first.running());
    assertEquals(0.5, first.kvCacheUsage());

    vllmText.set(vllm(7, 3));
    assertTrue(Poll.until(DEADLINE, () -> latest(url) != null && latest(url).waiting() == 7), "load changed");
    assertEquals(3, latest(url).running());
    assertTrue(latest(url).scrapedAtNanos() > first.scrapedAtNanos());
    assertTrue(latest(url).freshAt(System.nanoTime(), Duration.ofSeconds(5).toNanos()));

    assertEquals(1, sinkThreads.size(), "one event loop: " + sinkThreads + " " + sinkContexts);
    assertEquals(1, sinkContexts.size());
    assertNotNull(sinkContexts.iterator().next());
    assertTrue(sinkContexts.iterator().next().isEventLoopContext());
  }

  @Test
  void failingBackendsGiveNullWithoutStallingTheOthers(Vertx vertx) throws Exception {
    String good = base + "/llama";
    String fails = base + "/fails";
    String plain = base + "/plain";
    String huge = base + "/huge";
    String hangs = base + "/hangs";
    String refused = "http://127.0.0.1:" + unusedPort();
    EngineMetricsScraper scraper = scraper(vertx, Duration.ofMillis(100), Duration.ofMillis(1500));
    scraper.track(List.of(backend("good", good), backend("fails", fails), backend("plain", plain),
        backend("huge", huge), backend("hangs", hangs), backend("refused", refused)));
    long started = System.nanoTime();
    scraper.start();

    assertTrue(Poll.until(DEADLINE, () -> count(hangs, false) >= 1), "the hanging backend times out");
    long hangFailedAt = events.stream().filter(e -> e.url().equals(hangs)).findFirst().orElseThrow().atNanos();
    assertTrue(hangFailedAt - started >= Duration.ofMillis(1400).toNanos(), "not before the timeout");
    long goodBeforeHang = events.stream()
        .filter(e -> e.url().equals(good) && e.load() != null && e.atNanos() < hangFailedAt).count();
    assertTrue(goodBeforeHang >= 3, "the good backend was scraped every round meanwhile: " + goodBeforeHang);
    assertEquals(3, latest(good).running());
    assertEquals("llamacpp", latest(good).engine());
    for (String url : List.of(fails, plain, huge, refused)) {
      assertTrue(count(url, false) >= 3, url + " reported as failing every round");
      assertEquals(0, count(url, true), url);
      assertNull(latest(url));
    }
  }

  @Test
  void aSlowBackendNeverHasTwoScrapesInFlight(Vertx vertx) {
    String slow = base + "/slow";
    String fast = base + "/llama";
    EngineMetricsScraper scraper = scraper(vertx, Duration.ofMillis(50), Duration.ofSeconds(5));
    scraper.track(List.of(backend("slow", slow), backend("fast", fast)));
    scraper.start();

    assertTrue(Poll.until(DEADLINE, () -> count(slow, true) >= 3), "three slow answers; events " + events);
    assertEquals(1, slowMaxOpen.get(), "one request at a time, though each takes eight intervals");
    assertTrue(count(slow, true) <= slowAnswered.get(), "no answer reached the sink twice");
    assertEquals(new EngineLoad("tgi", 2, 5, Double.NaN, latest(slow).scrapedAtNanos()), latest(slow));
    assertTrue(count(fast, true) > count(slow, true), "the fast backend is not held up by the slow one");
  }

  @Test
  void anUntrackedBackendIsNoLongerScrapedNorReported(Vertx vertx) {
    String llama = base + "/llama";
    String vllm = base + "/v1";
    EngineMetricsScraper scraper = scraper(vertx, Duration.ofMillis(50), Duration.ofSeconds(2));
    scraper.track(List.of(backend("llama", llama)));
    scraper.start();
    assertTrue(Poll.until(DEADLINE, () -> latest(llama) != null));

    scraper.track(List.of(backend("v", vllm, Map.of("Authorization", "Bearer k"))));
    assertTrue(Poll.until(DEADLINE, () -> latest(vllm) != null));
    long llamaEvents = count(llama, true);
    long vllmEvents = count(vllm, true);
    assertTrue(Poll.until(DEADLINE, () -> count(vllm, true) >= vllmEvents + 3));
    assertEquals(llamaEvents, count(llama, true), "no report of a backend no longer tracked");
  }

  private static int unusedPort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
