package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/** A load-balancing strategy: picks one of the backends eligible for a request. */
public interface Strategy {

  /** @param eligible never empty */
  Backend pick(List<Backend> eligible, long nowNanos);

  static Strategy named(String name, BackendStatsRegistry stats) {
    return switch (name) {
      case "least_connections" -> new LeastConnections(stats);
      case "latency_based" -> new LatencyBased(stats);
      case "random" -> new WeightedRandom();
      case "queue_aware" -> new QueueAware(stats);
      // round_robin honours weights as the original did; with equal weights it is plain round-robin.
      default -> new SmoothWeightedRoundRobin();
    };
  }
}
