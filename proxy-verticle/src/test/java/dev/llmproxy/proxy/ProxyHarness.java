package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One proxy verticle on a real port, with the test standing in for the discovery verticle (it answers
 * {@code llmproxy.backends.current}) and for the usage verticle (it collects {@code llmproxy.usage.record}).
 */
final class ProxyHarness {

  final Vertx vertx;
  final int port;
  final GatewayConfig config;
  final ProxyEnvironment environment;
  final LinkedBlockingQueue<UsageRecord> usage = new LinkedBlockingQueue<>();
  final TestClient client;
  private volatile BackendSnapshot snapshot;
  private final List<ProxyVerticle> proxies = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The config as given, for a reload with overrides. */
  private JsonObject raw;

  private ProxyHarness(Vertx vertx, int port, GatewayConfig config, BackendSnapshot snapshot) {
    this.vertx = vertx;
    this.port = port;
    this.config = config;
    this.snapshot = snapshot;
    this.environment = new ProxyEnvironment(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), config.metrics());
    this.client = TestClient.create(vertx, new HttpClientOptions().setDefaultPort(port).setDefaultHost("127.0.0.1"));
  }

  /** @param overrides config sections merged over a minimal config with the given backends */
  static Future<ProxyHarness> start(Vertx vertx, List<String> backendUrls, JsonObject overrides) {
    return start(vertx, backendUrls, overrides, environment -> { });
  }

  /** One backend and {@code rate_limit} enabled with the given fields, {@code more} sections merged over. */
  static ProxyHarness withRateLimit(Vertx vertx, String backendUrl, JsonObject rateLimit, JsonObject more) {
    return Http.await(start(vertx, List.of(backendUrl),
        new JsonObject().put("rate_limit", rateLimit.put("enabled", true)).mergeIn(more, true)));
  }

  /** @param prepare sets the environment's test hooks (a Redis key prefix, a slot lifetime) before the proxy starts */
  static Future<ProxyHarness> start(Vertx vertx, List<String> backendUrls, JsonObject overrides,
      java.util.function.Consumer<ProxyEnvironment> prepare) {
    return start(vertx, backendUrls, overrides, prepare, 1);
  }

  /** @param instances proxy verticles on as many event loops, as the launcher deploys one per loop */
  static Future<ProxyHarness> start(Vertx vertx, List<String> backendUrls, JsonObject overrides,
      java.util.function.Consumer<ProxyEnvironment> prepare, int instances) {
    int port = freePort();
    JsonArray backends = new JsonArray();
    for (int i = 0; i < backendUrls.size(); i++) {
      backends.add(new JsonObject().put("name", "b" + i).put("url", backendUrls.get(i)));
    }
    JsonObject raw = new JsonObject()
        .put("server", new JsonObject().put("listen", "127.0.0.1:" + port))
        .put("backends", backends)
        .mergeIn(overrides, true);
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    if (!loaded.ok()) {
      return Future.failedFuture(new IllegalArgumentException(String.join("\n", loaded.errors())));
    }
    GatewayConfig config = loaded.config();
    List<Backend> list = config.routedBackends().stream().map(b -> Backend.of(b, config.routing(), true)).toList();
    ProxyHarness harness = new ProxyHarness(vertx, port, config, new BackendSnapshot(1, list));
    harness.raw = raw;
    prepare.accept(harness.environment);
    harness.environment.register(vertx);
    UsageRecordCodec.register(vertx.eventBus());
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, m -> harness.usage.addAll(UsageBatch.of(m.body())));
    vertx.eventBus().consumer(Addresses.BACKENDS_CURRENT, m -> m.reply(harness.snapshot.toJson()));
    return vertx.deployVerticle(() -> {
          ProxyVerticle proxy = new ProxyVerticle(config);
          harness.proxies.add(proxy);
          return proxy;
        }, new DeploymentOptions().setInstances(instances))
        .map(id -> {
          harness.environment.markStarted();
          return harness;
        });
  }

  /**
   * A config reload as the launcher makes it: every instance prepares {@code overrides} merged over this harness's
   * config (same port and backends), then each commits; exchanges under way finish on the previous config.
   */
  void reload(JsonObject overrides) {
    GatewayConfig next = ConfigLoader.parse(raw.copy().mergeIn(overrides, true), Map.of()).config();
    for (ProxyVerticle proxy : proxies) {
      Http.await(proxy.reconfigure(next).compose(GatewayVerticle.Reconfiguration::commit));
    }
  }

  /** Publishes a new snapshot as discovery would. */
  void publish(BackendSnapshot next) {
    snapshot = next;
    vertx.eventBus().publish(Addresses.BACKENDS_SNAPSHOT, next.toJson());
  }

  UsageRecord nextUsage() throws InterruptedException {
    UsageRecord record = usage.poll(5, TimeUnit.SECONDS);
    if (record == null) {
      throw new AssertionError("no usage record within 5 s");
    }
    return record;
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
