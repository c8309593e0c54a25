package dev.llmproxy.proxy;

import dev.llmproxy.common.config.MetricsConfig;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every proxy verticle instance of one JVM shares: the metrics registry and the lifecycle flags the
 * launcher sets. Handed in by the launcher, so that instances never reach for globals.
 */
public final class ProxyEnvironment {

  private final PrometheusMeterRegistry registry;
  private final ProxyMetrics metrics;
  private final BackendStatsRegistry backendStats;
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean draining = new AtomicBoolean();

  public ProxyEnvironment(PrometheusMeterRegistry registry, MetricsConfig config) {
    this.registry = registry;
    this.metrics = new ProxyMetrics(registry, config);
    this.backendStats = new BackendStatsRegistry(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public ProxyMetrics metrics() {
    return metrics;
  }

  public BackendStatsRegistry backendStats() {
    return backendStats;
  }

  /** Every verticle is deployed: {@code /ready} may answer 200 once a backend is usable. */
  public void markStarted() {
    started.set(true);
  }

  /** Shutdown began: {@code /ready} answers 503 so that load balancers stop sending traffic. */
  public void markDraining() {
    draining.set(true);
  }

  boolean accepting() {
    return started.get() && !draining.get();
  }
}
