package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/**
 * The least loaded backend by its own metrics (queued and running work, KV-cache pressure), scraped off the
 * request path. A backend whose metrics are missing or stale counts by the gateway's own in-flight number.
 */
final class QueueAware implements Strategy {

  static final long MAX_AGE_NANOS = 5_000_000_000L;

  private final BackendStatsRegistry stats;
  private int offset;

  QueueAware(BackendStatsRegistry stats) {
    this.stats = stats;
  }

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    return LeastConnections.pickByLoad(eligible, stats, offset++, backend -> {
      BackendStats s = stats.of(backend);
      double engine = s.engineScore(nowNanos, MAX_AGE_NANOS);
      // Requests sent since the last scrape are not in the engine's figures yet: in flight covers them.
      return Double.isNaN(engine) ? s.inFlight() : Math.max(engine, s.inFlight());
    });
  }
}
