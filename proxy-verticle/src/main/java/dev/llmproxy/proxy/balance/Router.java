package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.config.FallbackConfig;
import dev.llmproxy.common.config.RoutingConfig;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Chooses the backend of each attempt of a request: only backends that serve its model; down a fallback
 * chain when one names the model; away from backends already tried and from ejected ones while others
 * remain; by affinity when the request carries a session key; otherwise by the configured strategy.
 * One instance per proxy verticle instance.
 */
public final class Router {

  private final Strategy strategy;
  private final BackendStatsRegistry stats;
  private final List<FallbackConfig> fallbacks;
  private List<Backend> usable = List.of();
  /** Every backend of the snapshot, usable or not: to tell a model nobody serves from one whose servers are down. */
  private List<Backend> all = List.of();
  private boolean anyModelLists;
  private RoutingScript script;
  /** {@code routing.flow_control}'s view of a saturated backend, or null when flow control is off. */
  private java.util.function.Predicate<Backend> saturated;

  public Router(RoutingConfig routing, BackendStatsRegistry stats) {
    this.strategy = Strategy.named(routing, stats);
    this.stats = stats;
    this.fallbacks = routing.fallback();
  }

  public void update(BackendSnapshot snapshot) {
    List<Backend> next = new ArrayList<>();
    boolean lists = false;
    for (Backend backend : snapshot.backends()) {
      stats.of(backend).healthy(backend.healthy());
      if (backend.usable()) {
        next.add(backend);
      }
      lists |= !backend.models().isEmpty();
    }
    usable = List.copyOf(next);
    all = snapshot.backends();
    anyModelLists = lists;
  }

  public void script(RoutingScript script) {
    this.script = script;
  }

  /** Flow control is on: the strategy chooses among the backends below their threshold while there are any. */
  public void avoidSaturated(java.util.function.Predicate<Backend> saturated) {
    this.saturated = saturated;
  }

  public List<Backend> usable() {
    return usable;
  }

  /**
   * @param tried backends of earlier attempts of this request, in order
   * @param affinityKey a session key for consistent hashing, or null
   * @param promptPrefix a hash of the prompt's start for {@code prefix_aware}, or 0
   * @param requestForScript what a routing script sees of the request; asked only when there is a script
   */
  public Backend choose(String model, List<Backend> tried, String affinityKey, long promptPrefix,
                        Supplier<Map<String, Object>> requestForScript) {
    long now = System.nanoTime();
    List<Backend> serving = serving(model);
    if (serving.isEmpty()) {
      if (model != null && anyModelLists && !servedByAny(model)) {
        throw new GatewayError(ErrorKind.MODEL_NOT_FOUND, "The model '" + model + "' does not exist or no backend serves it");
      }
      if (model != null && anyModelLists) {
        throw new GatewayError(ErrorKind.NO_BACKEND, "every backend serving the model '" + model + "' is unhealthy");
      }
      throw new GatewayError(ErrorKind.NO_BACKEND, "no backend is available to serve this request");
    }
    Backend chained = fromFallbackChain(model, serving, tried, now);
    if (chained != null) {
      return chained;
    }
    Backend named = namedFallback(serving, tried, now);
    if (named != null) {
      return named;
    }
    List<Backend> eligible = eligible(serving, tried, now);
    if (saturated != null) {
      eligible = belowThreshold(eligible);
    }
    eligible = lowestPriority(eligible);
    if (script != null) {
      Backend picked = script.pick(eligible, requestForScript.get(), stats);
      if (picked != null) {
        return picked;
      }
    }
    if (affinityKey != null) {
      return Rendezvous.pick(eligible, affinityKey);
    }
    return strategy.pick(eligible, now, promptPrefix);
  }

  private boolean servedByAny(String model) {
    for (Backend backend : all) {
      if (backend.models().isEmpty() || backend.models().contains(model)) {
        return true;
      }
    }
    return false;
  }

  /** The usable backends that serve {@code model} (every usable one when none lists its models). */
  public List<Backend> serving(String model) {
    if (!anyModelLists || model == null) {
      return usable;
    }
    List<Backend> serving = new ArrayList<>(usable.size());
    for (Backend backend : usable) {
      if (backend.models().isEmpty() || backend.models().contains(model)) {
        serving.add(backend);
      }
    }
    return serving;
  }

  /** Healthy and untried first; then untried even if ejected; then anything that serves the model. */
  private List<Backend> eligible(List<Backend> serving, List<Backend> tried, long now) {
    List<Backend> fresh = without(serving, backend -> tried.contains(backend) || stats.of(backend).ejectedAt(now));
    if (fresh == serving || !fresh.isEmpty()) {
      return fresh;
    }
    List<Backend> untried = without(serving, tried::contains);
    return untried.isEmpty() ? serving : untried;
  }

  private List<Backend> belowThreshold(List<Backend> eligible) {
    List<Backend> free = without(eligible, saturated);
    return free.isEmpty() ? eligible : free;
  }

  /** The backends {@code skip} does not select; {@code backends} itself when it selects none (no copy on the common path). */
  private static List<Backend> without(List<Backend> backends, java.util.function.Predicate<Backend> skip) {
    List<Backend> kept = null;
    for (int i = 0; i < backends.size(); i++) {
      Backend backend = backends.get(i);
      boolean skipped = skip.test(backend);
      if (skipped && kept == null) {
        kept = new ArrayList<>(backends.subList(0, i));
      } else if (!skipped && kept != null) {
        kept.add(backend);
      }
    }
    return kept == null ? backends : kept;
  }

  /** A provider's {@code fallback_provider}: tried next after it failed, if it serves the model and is not ejected. */
  private Backend namedFallback(List<Backend> serving, List<Backend> tried, long now) {
    if (tried.isEmpty()) {
      return null;
    }
    String name = tried.get(tried.size() - 1).fallback();
    if (name == null) {
      return null;
    }
    for (Backend backend : serving) {
      if (backend.name().equals(name) && !tried.contains(backend) && !stats.of(backend).ejectedAt(now)) {
        return backend;
      }
    }
    return null;
  }

  /** Only the backends of the lowest {@code priority} among the eligible: lower is tried first. */
  private static List<Backend> lowestPriority(List<Backend> eligible) {
    int lowest = Integer.MAX_VALUE;
    boolean mixed = false;
    for (int i = 0; i < eligible.size(); i++) {
      int priority = eligible.get(i).priority();
      mixed |= i > 0 && priority != lowest;
      lowest = Math.min(lowest, priority);
    }
    if (!mixed) {
      return eligible;
    }
    List<Backend> first = new ArrayList<>();
    for (Backend backend : eligible) {
      if (backend.priority() == lowest) {
        first.add(backend);
      }
    }
    return first;
  }

  private Backend fromFallbackChain(String model, List<Backend> serving, List<Backend> tried, long now) {
    if (fallbacks.isEmpty()) {
      return null;
    }
    for (FallbackConfig chain : fallbacks) {
      if (!chain.models().isEmpty() && (model == null || !chain.models().contains(model))) {
        continue;
      }
      List<String> order = new ArrayList<>(1 + chain.fallback().size());
      order.add(chain.primary());
      order.addAll(chain.fallback());
      for (String target : order) {
        Backend backend = find(serving, target);
        if (backend != null && !tried.contains(backend) && !stats.of(backend).ejectedAt(now)) {
          return backend;
        }
      }
      return null;
    }
    return null;
  }

  /** A chain names backends by URL (as the original did) or by name. */
  private static Backend find(List<Backend> backends, String target) {
    String url = target.endsWith("/") ? target.substring(0, target.length() - 1) : target;
    for (Backend backend : backends) {
      String own = backend.url().endsWith("/") ? backend.url().substring(0, backend.url().length() - 1) : backend.url();
      if (own.equals(url) || backend.name().equals(target)) {
        return backend;
      }
    }
    return null;
  }
}
