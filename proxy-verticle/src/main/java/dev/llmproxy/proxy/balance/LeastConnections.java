package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/** Fewest requests in flight per unit of weight; ties go round the list so that idle backends share. */
final class LeastConnections implements Strategy {

  private final BackendStatsRegistry stats;
  private int offset;

  LeastConnections(BackendStatsRegistry stats) {
    this.stats = stats;
  }

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    return pickByLoad(eligible, stats, offset++, b -> stats.of(b).inFlight());
  }

  interface Load {
    double of(Backend backend);
  }

  static Backend pickByLoad(List<Backend> eligible, BackendStatsRegistry stats, int offset, Load load) {
    int n = eligible.size();
    Backend best = null;
    double bestLoad = Double.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      Backend backend = eligible.get(Math.floorMod(offset + i, n));
      double perWeight = (load.of(backend) + 1) / Math.max(1, backend.weight());
      if (perWeight < bestLoad) {
        best = backend;
        bestLoad = perWeight;
      }
    }
    return best;
  }
}
