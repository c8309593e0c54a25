package dev.llmproxy.discovery;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.llmproxy.discovery.DiscoveryTesting.byUrl;
import static dev.llmproxy.discovery.DiscoveryTesting.urls;
import static dev.llmproxy.discovery.DiscoveryTesting.withSources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Static backends, static sources and an HTTP registry served by the test, combined by mode. */
@ExtendWith(VertxExtension.class)
class StaticAndHttpSourcesTest {

  /** A registry whose answer the test sets: a status and a body. */
  static final class Registry {
    final AtomicReference<String> body = new AtomicReference<>("[]");
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicInteger calls = new AtomicInteger();
    final AtomicReference<String> authorization = new AtomicReference<>();
    HttpServer server;

    static Registry start(Vertx vertx) throws Exception {
      Registry registry = new Registry();
      registry.server = vertx.createHttpServer().requestHandler(request -> {
        registry.calls.incrementAndGet();
        registry.authorization.set(request.getHeader("Authorization"));
        request.response().setStatusCode(registry.status.get()).putHeader("Content-Type", "application/json")
            .end(registry.body.get());
      }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
      return registry;
    }

    String url() {
      return "http://127.0.0.1:" + server.actualPort() + "/api/services";
    }
  }

  private static JsonObject httpSource(String name, Registry registry, String interval) {
    return new JsonObject().put("name", name).put("type", "http").put("http", new JsonObject()
        .put("url", registry.url()).put("interval", interval).put("timeout", "2s")
        .put("headers", new JsonObject().put("Authorization", "Bearer registry-token")));
  }

  private static JsonObject staticSource(String name, JsonArray backends) {
    return new JsonObject().put("name", name).put("type", "static")
        .put("static", new JsonObject().put("backends", backends));
  }

  private static JsonObject backend(String url) {
    return new JsonObject().put("url", url);
  }

  @Test
  void staticBackendsAndEverySourceAreMergedOnceEach(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(new JsonObject().put("name", "r1").put("url", "http://10.0.0.1:8000")
        .put("weight", 3).put("models", new JsonArray().add("llama"))).add(backend("http://10.0.0.9:8000")).encode());
    JsonObject config = withSources(
        staticSource("fixed", new JsonArray().add(backend("http://10.0.0.2:8000")).add(backend("http://10.0.0.9:8000"))),
        httpSource("registry", registry, "1h"))
        .put("backends", new JsonArray().add(new JsonObject().put("name", "main").put("url", "http://10.0.0.3:8000")));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
      BackendSnapshot snapshot = discovery.current();
      assertEquals(List.of("http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000", "http://10.0.0.9:8000"),
          urls(snapshot), "a URL in two sources counts once");
      Backend fromRegistry = byUrl(snapshot, "http://10.0.0.1:8000");
      assertEquals("r1", fromRegistry.name());
      assertEquals(3, fromRegistry.weight());
      assertEquals(List.of("llama"), fromRegistry.models());
      assertEquals(60_000, fromRegistry.timeoutMs(), "unset timeouts come from routing, as for backends[]");
      assertEquals("main", snapshot.backends().get(0).name(), "static backends[] come first");
      assertEquals("Bearer registry-token", registry.authorization.get());
      assertEquals(1, discovery.published.size(), "one snapshot at start, not one per source");
      assertEquals(1, snapshot.version());
    }
  }

  /** scripts/discovery_filter.lua, loaded by path as a source's script names it. */
  @Test
  void theScriptsFolderDiscoveryFilterDropsStagingAndDoublesWeights(Vertx vertx) throws Exception {
    JsonObject source = staticSource("fixed", new JsonArray()
        .add(new JsonObject().put("name", "staging-1").put("url", "http://10.0.2.1:8000"))
        .add(new JsonObject().put("name", "prod-1").put("url", "http://10.0.2.2:8000").put("weight", 3)))
        .put("script", new JsonObject().put("enabled", true).put("path", "../scripts/discovery_filter.lua"));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source))) {
      BackendSnapshot snapshot = discovery.current();
      assertEquals(List.of("http://10.0.2.2:8000"), urls(snapshot), "staging-1 is filtered out");
      assertEquals(6, byUrl(snapshot, "http://10.0.2.2:8000").weight());
    }
  }

  @Test
  void firstModeUsesTheFirstSourceWithBackends(Vertx vertx) throws Exception {
    Registry empty = Registry.start(vertx);
    Registry full = Registry.start(vertx);
    full.body.set(new JsonObject().put("backends", new JsonArray().add(backend("http://10.0.1.1:8000"))).encode());
    JsonObject config = withSources(httpSource("empty", empty, "1h"), httpSource("full", full, "1h"),
        staticSource("never", new JsonArray().add(backend("http://10.0.1.2:8000"))));
    config.getJsonObject("discovery").put("mode", "first");
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
      assertEquals(List.of("http://10.0.1.1:8000"), urls(discovery.current()));
    }
  }

  @Test
  void changesArePublishedOnceAndAnUnchangedListIsNot(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(backend("http://10.0.2.1:8000")).encode());
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(httpSource("reg", registry, "50ms")))) {
      assertEquals(List.of("http://10.0.2.1:8000"), urls(discovery.current()));
      int calls = registry.calls.get();
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> registry.calls.get() >= calls + 5));
      assertEquals(1, discovery.published.size(), "polls that read the same list publish nothing");

      registry.body.set(new JsonArray().add(backend("http://10.0.2.1:8000")).add(backend("http://10.0.2.2:8000")).encode());
      BackendSnapshot two = discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 2);
      assertEquals(2, two.version());
      registry.body.set(new JsonArray().add(new JsonObject().put("url", "http://10.0.2.2:8000").put("weight", 7)).encode());
      BackendSnapshot one = discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 1);
      assertEquals(7, one.backends().get(0).weight());
      assertEquals(3, one.version());
      int after = registry.calls.get();
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> registry.calls.get() >= after + 5));
      assertEquals(3, discovery.published.size());
      assertEquals(3, discovery.current().version(), "a starting proxy gets the latest snapshot");
    }
  }

  @Test
  void aFailingSourceKeepsItsLastListIsCountedAndRecovers(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(backend("http://10.0.3.1:8000")).encode());
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(httpSource("flaky", registry, "50ms")))) {
      assertEquals(0, discovery.errors("flaky"));
      registry.status.set(503);
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> discovery.errors("flaky") >= 3), "each failed read is counted");
      registry.status.set(200);
      registry.body.set("this is not JSON");
      double before = discovery.errors("flaky");
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> discovery.errors("flaky") >= before + 2), "a bad answer is a failure");
      assertEquals(List.of("http://10.0.3.1:8000"), urls(discovery.current()), "the last good list stays");
      assertEquals(1, discovery.published.size());

      registry.body.set(new JsonArray().add(backend("http://10.0.3.2:8000")).encode());
      discovery.awaitLatest(Duration.ofSeconds(5), s -> urls(s).equals(List.of("http://10.0.3.2:8000")));
    }
  }

  @Test
  void anOutageIsLoggedOnceWithTheSourcesName(Vertx vertx) throws Exception {
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        dev.llmproxy.discovery.source.SourceFeed.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events =
        new ch.qos.logback.core.read.ListAppender<>();
    events.start();
    logger.addAppender(events);
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(backend("http://10.0.8.1:8000")).encode());
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(httpSource("logged", registry, "30ms")))) {
      for (int outage = 1; outage <= 2; outage++) {
        registry.status.set(502);
        double before = discovery.errors("logged");
        assertTrue(Poll.until(Duration.ofSeconds(5), () -> discovery.errors("logged") >= before + 4));
        registry.status.set(200);
        int round = outage;
        assertTrue(Poll.until(Duration.ofSeconds(5), () -> logged(events).stream()
            .filter(e -> e.getFormattedMessage().contains("answers again")).count() == round));
      }
      List<String> warnings = logged(events).stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
          .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
      assertEquals(2, warnings.size(), "one warning per outage, not per failed read: " + warnings);
      assertTrue(warnings.get(0).contains("logged") && warnings.get(0).contains("HTTP 502"), warnings.get(0));
    } finally {
      logger.detachAppender(events);
    }
  }

  /**
   * What the appender holds so far: the event loop appends while the test reads, and logback appends under the
   * appender's lock (AppenderBase.doAppend), so a copy taken under it is whole.
   */
  private static List<ch.qos.logback.classic.spi.ILoggingEvent> logged(
      ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events) {
    synchronized (events) {
      return List.copyOf(events.list);
    }
  }

  @Test
  void aSourceDownAtStartIsRetriedWithoutFailingTheStart(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.status.set(500);
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(httpSource("late", registry, "50ms"))
        .put("backends", new JsonArray().add(backend("http://10.0.4.9:8000"))))) {
      assertEquals(List.of("http://10.0.4.9:8000"), urls(discovery.current()));
      registry.status.set(200);
      registry.body.set(new JsonArray().add(backend("http://10.0.4.1:8000")).encode());
      discovery.awaitLatest(Duration.ofSeconds(5), s -> s.backends().size() == 2);
    }
  }

  @Test
  void aSourceScriptFiltersAndRewritesItsList(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray()
        .add(new JsonObject().put("name", "keep").put("url", "http://10.0.5.1:8000").put("weight", 2))
        .add(new JsonObject().put("name", "drain-me").put("url", "http://10.0.5.2:8000")).encode());
    String script = """
        local out = {}
        for _, b in ipairs(backends) do
          if not string.find(b.name, "drain") then
            b.weight = b.weight * 10
            b.name = source .. "-" .. b.name
            table.insert(out, b)
          end
        end
        return out
        """;
    JsonObject source = httpSource("scripted", registry, "1h")
        .put("script", new JsonObject().put("enabled", true).put("script", script));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source))) {
      BackendSnapshot snapshot = discovery.current();
      assertEquals(1, snapshot.backends().size());
      assertEquals("scripted-keep", snapshot.backends().get(0).name());
      assertEquals(20, snapshot.backends().get(0).weight());
    }
  }

  @Test
  void aProcessStyleScriptThatFailsCountsAsASourceFailure(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(backend("http://10.0.6.1:8000")).encode());
    String script = """
        function process(ctx, data)
          if #data > 1 then error("too many") end
          return data
        end
        """;
    JsonObject source = httpSource("guarded", registry, "50ms")
        .put("script", new JsonObject().put("enabled", true).put("script", script));
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source))) {
      assertEquals(List.of("http://10.0.6.1:8000"), urls(discovery.current()));
      registry.body.set(new JsonArray().add(backend("http://10.0.6.1:8000")).add(backend("http://10.0.6.2:8000")).encode());
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> discovery.errors("guarded") >= 1));
      assertEquals(List.of("http://10.0.6.1:8000"), urls(discovery.current()), "the script's failure keeps the last list");
    }
  }

  @Test
  void theSetIsRegisteredAsHttpEndpointRecords(Vertx vertx) throws Exception {
    Registry registry = Registry.start(vertx);
    registry.body.set(new JsonArray().add(new JsonObject().put("name", "gpu-1").put("url", "http://10.0.7.1:8001")
        .put("weight", 4).put("models", new JsonArray().add("qwen"))).encode());
    ServiceDiscovery lookup = ServiceDiscovery.create(vertx);
    try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(httpSource("reg", registry, "50ms")))) {
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> records(lookup).size() == 1));
      Record record = records(lookup).get(0);
      assertEquals("http-endpoint", record.getType());
      assertEquals("gpu-1", record.getName());
      assertEquals(8001, record.getLocation().getInteger("port"));
      assertEquals(4, record.getMetadata().getInteger("weight"));
      assertEquals(new JsonArray().add("qwen"), record.getMetadata().getJsonArray("models"));
      assertEquals(true, record.getMetadata().getBoolean("healthy"));

      registry.body.set(new JsonArray().add(new JsonObject().put("name", "gpu-2").put("url", "http://10.0.7.2:8001")).encode());
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> {
        List<Record> now = records(lookup);
        return now.size() == 1 && now.get(0).getName().equals("gpu-2");
      }), () -> "records: " + records(lookup));
    }
    assertTrue(records(lookup).isEmpty(), "undeploying withdraws the records");
    lookup.close();
  }

  private static List<Record> records(ServiceDiscovery lookup) {
    try {
      return lookup.getRecords(r -> r.getMetadata().getBoolean("llmproxy", false)).await(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
