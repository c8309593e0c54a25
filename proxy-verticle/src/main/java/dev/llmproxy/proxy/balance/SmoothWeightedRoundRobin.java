package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/**
 * Nginx's smooth weighted round-robin: weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c.
 * With equal weights it is plain round-robin.
 */
public final class SmoothWeightedRoundRobin implements LoadBalancer {

  private Backend[] backends = new Backend[0];
  private int[] current = new int[0];
  private int totalWeight;

  @Override
  public void update(List<Backend> usable) {
    backends = usable.toArray(new Backend[0]);
    current = new int[backends.length];
    totalWeight = 0;
    for (Backend backend : backends) {
      totalWeight += backend.weight();
    }
  }

  @Override
  public Backend choose() {
    Backend[] list = backends;
    if (list.length == 0) {
      return null;
    }
    if (list.length == 1) {
      return list[0];
    }
    int best = 0;
    for (int i = 0; i < list.length; i++) {
      current[i] += list[i].weight();
      if (current[i] > current[best]) {
        best = i;
      }
    }
    current[best] -= totalWeight;
    return list[best];
  }
}
