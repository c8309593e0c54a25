package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;
import java.util.function.Predicate;

/**
 * Weighted rendezvous hashing: a key always lands on the same backend while that backend is eligible, and
 * when it is not, only its keys move (so a conversation keeps its prefix cache).
 */
final class Rendezvous {

  private Rendezvous() {
  }

  static Backend pick(List<Backend> eligible, String key) {
    return pick(eligible, mix(key.hashCode() * 0x9E3779B97F4A7C15L), backend -> true);
  }

  /**
   * The first backend {@code acceptable} takes in the key's order of backends (the same order wherever it is
   * computed), or null when it takes none.
   */
  static Backend pick(List<Backend> eligible, long keyHash, Predicate<Backend> acceptable) {
    Backend best = null;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (Backend backend : eligible) {
      long hash = mix(keyHash ^ backend.url().hashCode() * 0xC2B2AE3D27D4EB4FL);
      double unit = ((hash >>> 11) + 1) * 0x1.0p-53;
      double score = backend.weight() / -Math.log(unit);
      if (score > bestScore && acceptable.test(backend)) {
        best = backend;
        bestScore = score;
      }
    }
    return best;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
