package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.config.RoutingConfig;
import dev.llmproxy.common.model.Backend;

import java.util.List;

/** A load-balancing strategy: picks one of the backends eligible for a request. */
public interface Strategy {

  /** @param eligible never empty */
  Backend pick(List<Backend> eligible, long nowNanos);

  /** @param promptPrefix a hash of the request's prompt start, or 0; only {@code prefix_aware} reads it */
  default Backend pick(List<Backend> eligible, long nowNanos, long promptPrefix) {
    return pick(eligible, nowNanos);
  }

  static Strategy named(RoutingConfig routing, BackendStatsRegistry stats) {
    return switch (routing.loadBalance()) {
      case "prefix_aware" -> new PrefixAware(stats, routing.prefixAware().loadFactor());
      case "least_connections" -> new LeastConnections(stats);
      case "latency_based" -> new LatencyBased(stats);
      case "random" -> new WeightedRandom();
      case "queue_aware" -> new QueueAware(stats);
      // round_robin honours weights as the original did; with equal weights it is plain round-robin.
      default -> new SmoothWeightedRoundRobin();
    };
  }
}
