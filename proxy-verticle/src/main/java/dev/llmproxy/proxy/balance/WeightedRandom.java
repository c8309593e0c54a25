package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

final class WeightedRandom implements Strategy {

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    int total = 0;
    for (Backend backend : eligible) {
      total += backend.weight();
    }
    int ticket = ThreadLocalRandom.current().nextInt(Math.max(1, total));
    for (Backend backend : eligible) {
      ticket -= backend.weight();
      if (ticket < 0) {
        return backend;
      }
    }
    return eligible.get(eligible.size() - 1);
  }
}
