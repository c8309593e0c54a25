package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One {@link BackendStats} per backend URL for the whole JVM, each with its gauges. */
public final class BackendStatsRegistry {

  private final MeterRegistry meters;
  private final ConcurrentHashMap<String, BackendStats> byUrl = new ConcurrentHashMap<>();

  public BackendStatsRegistry(MeterRegistry meters) {
    this.meters = meters;
  }

  public BackendStats of(Backend backend) {
    BackendStats stats = byUrl.get(backend.url());
    return stats != null ? stats : byUrl.computeIfAbsent(backend.url(), url -> register(backend));
  }

  /** The stats of a backend already seen, or null. */
  public BackendStats ofUrl(String url) {
    return byUrl.get(url);
  }

  /** Every backend seen so far, by URL: a live view, for reports. */
  public Map<String, BackendStats> all() {
    return Collections.unmodifiableMap(byUrl);
  }

  private BackendStats register(Backend backend) {
    BackendStats stats = new BackendStats(backend.name());
    Gauge.builder("llmproxy_backend_in_flight", stats, BackendStats::inFlight)
        .description("Requests and streams in flight to the backend").tag("backend", backend.name()).register(meters);
    Gauge.builder("llmproxy_backend_up", stats, s -> s.up(System.nanoTime()) ? 1 : 0)
        .description("1 when the backend is healthy and not ejected").tag("backend", backend.name()).register(meters);
    Gauge.builder("llmproxy_backend_engine_load", stats, s -> s.engineScore(System.nanoTime(), QueueAware.MAX_AGE_NANOS))
        .description("Load the backend reports in its own metrics (queue_aware only; NaN when unknown or stale)")
        .tag("backend", backend.name()).register(meters);
    // The passive health counters of a backend exist at 0 as soon as it is known (ProxyMetrics increments them).
    ejections(meters, backend.name());
    recoveries(meters, backend.name());
    return stats;
  }

  public static Counter ejections(MeterRegistry meters, String backend) {
    return Counter.builder("llmproxy_backend_ejections").description("Backends taken out of rotation by passive health checks")
        .tag("backend", backend).register(meters);
  }

  public static Counter recoveries(MeterRegistry meters, String backend) {
    return Counter.builder("llmproxy_backend_recoveries").description("Ejected backends that answered again")
        .tag("backend", backend).register(meters);
  }
}
