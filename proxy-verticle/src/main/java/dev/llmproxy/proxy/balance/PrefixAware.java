package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.balance.engine.EngineLoad;

import java.util.List;

/**
 * {@code load_balance: prefix_aware}: requests whose prompts start alike go to the same backend, whose engine then
 * finds the prefix in its cache and skips recomputing it. The prefix's backend is the first in the prefix's
 * rendezvous order (the same on every proxy instance, after a reload, and for every later request with that
 * prefix, so it is the backend that served the prefix before) that is not too busy: bounded-load consistent
 * hashing, where a backend takes the request only if its load, with it, stays within {@code load_factor} times its
 * weighted share of the eligible backends' load plus this request. The Router has already left out backends that are
 * down, ejected or (with flow control) saturated. Without a prompt, the least loaded backend.
 *
 * <p>Load is the gateway's requests in flight, or the engine's own running and waiting requests when they were
 * scraped recently and are higher (other clients, other proxy instances).
 */
final class PrefixAware implements Strategy {

  private final BackendStatsRegistry stats;
  private final double loadFactor;
  private int offset;

  PrefixAware(BackendStatsRegistry stats, double loadFactor) {
    this.stats = stats;
    this.loadFactor = loadFactor;
  }

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos) {
    return LeastConnections.pickByLoad(eligible, stats, offset++, backend -> load(backend, nowNanos));
  }

  @Override
  public Backend pick(List<Backend> eligible, long nowNanos, long promptPrefix) {
    if (promptPrefix == 0 || eligible.size() == 1) {
      return pick(eligible, nowNanos);
    }
    double total = 1; // this request
    double weights = 0;
    for (Backend backend : eligible) {
      total += load(backend, nowNanos);
      weights += weight(backend);
    }
    double perWeight = loadFactor * total / weights;
    // At least one backend always passes: the capacities add up to load_factor x total >= total.
    Backend owner = Rendezvous.pick(eligible, promptPrefix,
        backend -> load(backend, nowNanos) + 1 <= Math.ceil(perWeight * weight(backend)));
    return owner != null ? owner : pick(eligible, nowNanos);
  }

  private double load(Backend backend, long nowNanos) {
    BackendStats s = stats.of(backend);
    EngineLoad engine = s.engineLoad(nowNanos, QueueAware.MAX_AGE_NANOS);
    double engineRequests = engine == null ? 0 : orZero(engine.running()) + orZero(engine.waiting());
    // Requests sent since the last scrape are not in the engine's figures yet: in flight covers them.
    return Math.max(s.inFlight(), engineRequests);
  }

  private static double weight(Backend backend) {
    return Math.max(1, backend.weight());
  }

  private static double orZero(double value) {
    return Double.isNaN(value) ? 0 : value;
  }
}
