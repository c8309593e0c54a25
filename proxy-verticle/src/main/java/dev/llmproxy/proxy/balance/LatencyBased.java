package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/**
 * The backend with the lowest decaying average time to first byte; one never measured is tried first. The
 * average decays while a backend gets no traffic, so one that was slow and recovered wins traffic back.
 */
final class LatencyBased implements Strategy {

  private final BackendStatsRegistry stats;
  private int offset;

  LatencyBased(BackendStatsRegistry stats) {
    this.stats = stats;
  }

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    int n = eligible.size();
    int start = offset++;
    Backend best = null;
    double bestScore = Double.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      Backend backend = eligible.get(Math.floorMod(start + i, n));
      double score = stats.of(backend).ttfbScoreMs(nowNanos);
      if (score < 0) {
        return backend;
      }
      if (score < bestScore) {
        best = backend;
        bestScore = score;
      }
    }
    return best;
  }
}
