package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;
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
    return stats;
  }
}
