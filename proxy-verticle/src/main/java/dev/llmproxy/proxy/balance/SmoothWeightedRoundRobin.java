package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Nginx's smooth weighted round-robin: weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c. Works on
 * whatever subset is eligible for a request (a model's backends, those not yet tried).
 */
final class SmoothWeightedRoundRobin implements Strategy {

  private final Map<String, int[]> current = new HashMap<>();

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    if (eligible.size() == 1) {
      return eligible.get(0);
    }
    int total = 0;
    Backend best = null;
    int[] bestWeight = null;
    for (Backend backend : eligible) {
      int[] weight = current.computeIfAbsent(backend.url(), url -> new int[1]);
      weight[0] += backend.weight();
      total += backend.weight();
      if (bestWeight == null || weight[0] > bestWeight[0]) {
        best = backend;
        bestWeight = weight;
      }
    }
    bestWeight[0] -= total;
    return best;
  }
}
