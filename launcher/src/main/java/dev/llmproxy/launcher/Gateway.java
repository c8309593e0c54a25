package dev.llmproxy.launcher;

import dev.llmproxy.admin.AdminVerticle;
import dev.llmproxy.admin.LaunchInfo;
import dev.llmproxy.auth.AuthVerticle;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.MetricsConfig;
import dev.llmproxy.discovery.DiscoveryVerticle;
import dev.llmproxy.proxy.ProxyEnvironment;
import dev.llmproxy.proxy.ProxyVerticle;
import dev.llmproxy.proxy.ProxyWarmup;
import dev.llmproxy.usage.UsageVerticle;
import dev.llmproxy.usage.requestlog.RequestLogVerticle;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Every verticle of the gateway deployed in one JVM, in dependency order, and undeployed in reverse:
 * the proxy first (it drains its requests and streams), the usage verticle last (it receives their records).
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  private final Vertx vertx;
  private final GatewayConfig config;
  private final ProxyEnvironment environment;
  private final Deque<String> deployments = new ArrayDeque<>();

  private Gateway(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry) {
    this.vertx = vertx;
    this.config = config;
    this.environment = new ProxyEnvironment(registry, config.metrics());
  }

  /** Vert.x's meters that cost something on every request; {@code metrics.vertx_http} turns them on. */
  private static final Set<String> PER_REQUEST_METRICS = Set.of(MetricsDomain.HTTP_SERVER.toCategory(),
      MetricsDomain.HTTP_CLIENT.toCategory(), MetricsDomain.NET_SERVER.toCategory(), MetricsDomain.NET_CLIENT.toCategory(),
      MetricsDomain.EVENT_BUS.toCategory());

  /** A Vert.x instance sized for the gateway: one event loop per core, metrics into {@code registry}. */
  public static Vertx createVertx(PrometheusMeterRegistry registry, MetricsConfig metrics) {
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(eventLoops());
    if (!metrics.enabled()) {
      return Vertx.builder().with(options).build();
    }
    options.setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
        .setDisabledMetricsCategories(metrics.vertxHttp() ? Set.of() : PER_REQUEST_METRICS));
    return Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry)).build();
  }

  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  static int eventLoops() {
    return Integer.getInteger("llmproxy.event-loops", Runtime.getRuntime().availableProcessors());
  }

  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry) {
    return start(vertx, config, registry, null);
  }

  /** @param configPath the file {@code config} was read from, reread by {@code POST /admin/config/reload}; may be null */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry,
      String configPath) {
    Gateway gateway = new Gateway(vertx, config, registry);
    LaunchInfo launch = new LaunchInfo(configPath, Version.get());
    boolean requestLog = config.logging().enabled() && config.logging().request().enabled();
    return gateway.deploy("usage", 1, c -> new UsageVerticle(c, registry))
        .compose(v -> requestLog ? gateway.deploy("request-log", 1, RequestLogVerticle::new) : Future.succeededFuture())
        .compose(v -> gateway.deploy("admin", 1, c -> new AdminVerticle(c, launch)))
        .compose(v -> gateway.deploy("auth", 1, AuthVerticle::new))
        .compose(v -> gateway.deploy("discovery", 1, c -> new DiscoveryVerticle(c, registry)))
        .compose(v -> gateway.deploy("proxy", eventLoops(), c -> new ProxyVerticle(c, gateway.environment)))
        .compose(v -> ProxyWarmup.run(vertx, config))
        .map(v -> {
          gateway.environment.markStarted();
          LOG.info("LLMProxy listening on {}{} with {} backend(s)", config.server().tls().enabled() ? "https://" : "http://",
              config.server().listen(), config.backends().size());
          return gateway;
        });
  }

  private Future<Void> deploy(String name, int instances, Function<GatewayConfig, Deployable> factory) {
    Supplier<Deployable> supplier = () -> factory.apply(config);
    return vertx.deployVerticle(supplier, new DeploymentOptions().setInstances(instances))
        .map(id -> {
          deployments.push(id);
          LOG.info("deployed {} verticle ({} instance{}, {})", name, instances, instances == 1 ? "" : "s", id);
          return null;
        });
  }

  /** Stops taking requests, lets those in flight finish up to {@code server.shutdown_timeout}, then undeploys the rest. */
  public Future<Void> stop() {
    environment.markDraining();
    return undeployNext();
  }

  private Future<Void> undeployNext() {
    String id = deployments.poll();
    if (id == null) {
      return Future.succeededFuture();
    }
    return vertx.undeploy(id)
        .otherwise(failure -> {
          LOG.warn("undeploying {} failed: {}", id, failure.getMessage());
          return null;
        })
        .compose(v -> undeployNext());
  }

  public ProxyEnvironment environment() {
    return environment;
  }
}
