package dev.llmproxy.discovery;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.llmproxy.discovery.DiscoveryTesting.byUrl;
import static dev.llmproxy.discovery.DiscoveryTesting.urls;
import static dev.llmproxy.discovery.DiscoveryTesting.withSources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Against a real etcd started by the test. The source's interval is an hour, so every change seen here came by
 * the watch, not by polling.
 */
@ExtendWith(VertxExtension.class)
class EtcdSourceTest {

  @BeforeAll
  static void needsEtcd() {
    assumeTrue(EtcdServer.binary() != null,
        "etcd is not installed (Debian package etcd-server; dev/services.sh installs it): etcd tests skipped");
  }

  private static JsonObject source(EtcdServer etcd, String prefix) {
    return new JsonObject().put("name", "etcd").put("type", "etcd").put("etcd", new JsonObject()
        .put("endpoints", new JsonArray().add(etcd.url())).put("prefix", prefix));
  }

  @Test
  void keysAppearChangeAndVanishByWatch(Vertx vertx, @TempDir Path data) throws Exception {
    try (EtcdServer etcd = new EtcdServer(data).start()) {
      etcd.put("/services/llm/a", "{\"url\":\"http://10.2.0.1:8000\",\"weight\":2}");
      etcd.put("/services/other/x", "{\"url\":\"http://10.2.9.9:8000\"}");
      etcd.put("/services/llmx", "{\"url\":\"http://10.2.9.8:8000\"}");
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(etcd, "/services/llm/")))) {
        BackendSnapshot first = discovery.current();
        assertEquals(List.of("http://10.2.0.1:8000"), urls(first), "only keys under the prefix");
        assertEquals("a", first.backends().get(0).name(), "a backend without a name is named after its key");
        assertEquals(2, first.backends().get(0).weight());

        etcd.put("/services/llm/b", "{\"name\":\"gpu-b\",\"url\":\"http://10.2.0.2:8000\",\"models\":[\"llama\"]}");
        BackendSnapshot two = discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 2);
        assertEquals(List.of("llama"), byUrl(two, "http://10.2.0.2:8000").models());

        etcd.put("/services/llm/a", "{\"url\":\"http://10.2.0.1:8000\",\"weight\":9}");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> byUrl(s, "http://10.2.0.1:8000") != null
            && byUrl(s, "http://10.2.0.1:8000").weight() == 9);

        etcd.delete("/services/llm/a");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> urls(s).equals(List.of("http://10.2.0.2:8000")));
        assertEquals(0, discovery.errors("etcd"));
      }
    }
  }

  @Test
  void anOutageKeepsTheLastListAndTheWatchComesBack(Vertx vertx, @TempDir Path data) throws Exception {
    EtcdServer etcd = new EtcdServer(data).start();
    try {
      etcd.put("/llm/one", "http://10.3.0.1:8000");
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(etcd, "/llm")))) {
        assertEquals(List.of("http://10.3.0.1:8000"), urls(discovery.current()), "a bare URL is a backend too");
        etcd.stop();
        assertTrue(Poll.until(Duration.ofSeconds(15), () -> discovery.errors("etcd") >= 2), "failures are counted");
        assertEquals(List.of("http://10.3.0.1:8000"), urls(discovery.current()), "the last good list stays");
        assertEquals(1, discovery.published.size());

        etcd.start();
        etcd.put("/llm/two", "http://10.3.0.2:8000");
        discovery.awaitLatest(Duration.ofSeconds(20), s -> s.backends().size() == 2);
        etcd.put("/llm/three", "http://10.3.0.3:8000");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 3);
      }
    } finally {
      etcd.close();
    }
  }

  @Test
  void withAuthenticationTheSourceLogsInAndWatches(Vertx vertx, @TempDir Path data) throws Exception {
    try (EtcdServer etcd = new EtcdServer(data).start()) {
      etcd.put("/auth/a", "http://10.5.1.1:8000");
      etcd.enableAuth("s3cret-pw");
      JsonObject good = source(etcd, "/auth/");
      good.getJsonObject("etcd").put("username", "root").put("password", "s3cret-pw");
      JsonObject bad = source(etcd, "/auth/").put("name", "etcd-bad");
      bad.getJsonObject("etcd").put("username", "root").put("password", "wrong");
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(good, bad))) {
        assertEquals(List.of("http://10.5.1.1:8000"), urls(discovery.current()));
        assertTrue(discovery.errors("etcd-bad") >= 1, "a wrong password is a failure of that source");
        etcd.put("/auth/b", "http://10.5.1.2:8000");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 2);
        assertEquals(0, discovery.errors("etcd"));
      }
    }
  }

  @Test
  void aBadValueFailsTheReadAndKeepsTheLastList(Vertx vertx, @TempDir Path data) throws Exception {
    try (EtcdServer etcd = new EtcdServer(data).start()) {
      etcd.put("/bad/a", "{\"url\":\"http://10.4.0.1:8000\"}");
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, withSources(source(etcd, "/bad/")))) {
        etcd.put("/bad/b", "{\"url\":\"not a url\"}");
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> discovery.errors("etcd") >= 1));
        assertEquals(List.of("http://10.4.0.1:8000"), urls(discovery.current()));
        etcd.put("/bad/b", "{\"url\":\"http://10.4.0.2:8000\"}");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 2);
      }
    }
  }
}
