package dev.llmproxy.discovery;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A deployed discovery verticle and every snapshot it publishes. */
final class DiscoveryTesting implements AutoCloseable {

  final Vertx vertx;
  final MeterRegistry meters = new SimpleMeterRegistry();
  final List<BackendSnapshot> published = new CopyOnWriteArrayList<>();
  private final String deployment;

  private DiscoveryTesting(Vertx vertx, GatewayConfig config, String serviceAccount) throws Exception {
    this.vertx = vertx;
    vertx.eventBus().<JsonObject>consumer(Addresses.BACKENDS_SNAPSHOT,
        m -> published.add(BackendSnapshot.fromJson(m.body()))).completion().await(5, TimeUnit.SECONDS);
    dev.llmproxy.common.verticle.JvmResources.of(vertx).put(io.micrometer.core.instrument.MeterRegistry.class, meters);
    this.deployment = vertx.deployVerticle(new DiscoveryVerticle(config, serviceAccount))
        .await(30, TimeUnit.SECONDS);
  }

  static DiscoveryTesting deploy(Vertx vertx, JsonObject raw) throws Exception {
    return deploy(vertx, raw, "/nonexistent/serviceaccount");
  }

  static DiscoveryTesting deploy(Vertx vertx, JsonObject raw, String serviceAccount) throws Exception {
    return new DiscoveryTesting(vertx, config(raw), serviceAccount);
  }

  static GatewayConfig config(JsonObject raw) {
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    if (!loaded.ok()) {
      throw new AssertionError("test config invalid: " + loaded.errors());
    }
    return loaded.config();
  }

  /** A config with discovery on (merge), health checks off, and these sources. */
  static JsonObject withSources(JsonObject... sources) {
    JsonArray list = new JsonArray();
    for (JsonObject source : sources) {
      list.add(source);
    }
    return new JsonObject()
        .put("health_check", new JsonObject().put("enabled", false))
        .put("discovery", new JsonObject().put("enabled", true).put("mode", "merge").put("interval", "1h")
            .put("sources", list));
  }

  /** The snapshot a starting proxy would get. */
  BackendSnapshot current() throws Exception {
    JsonObject reply = vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_CURRENT, null)
        .await(5, TimeUnit.SECONDS).body();
    return BackendSnapshot.fromJson(reply);
  }

  BackendSnapshot latest() {
    return published.isEmpty() ? BackendSnapshot.EMPTY : published.get(published.size() - 1);
  }

  /** Waits until the latest published snapshot satisfies {@code condition}; fails with what was published. */
  BackendSnapshot awaitLatest(Duration deadline, Predicate<BackendSnapshot> condition) {
    assertTrue(Poll.until(deadline, () -> condition.test(latest())), () -> "snapshots published: " + published);
    return latest();
  }

  static List<String> urls(BackendSnapshot snapshot) {
    return snapshot.backends().stream().map(Backend::url).sorted().toList();
  }

  static Backend byUrl(BackendSnapshot snapshot, String url) {
    return snapshot.backends().stream().filter(b -> b.url().equals(url)).findFirst().orElse(null);
  }

  double errors(String source) {
    var counter = meters.find("llmproxy_discovery_errors").tag("source", source).counter();
    return counter == null ? 0 : counter.count();
  }

  @Override
  public void close() throws Exception {
    vertx.undeploy(deployment).await(30, TimeUnit.SECONDS);
  }
}
