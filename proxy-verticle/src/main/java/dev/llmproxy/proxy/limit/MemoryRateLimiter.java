package dev.llmproxy.proxy.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.llmproxy.common.config.CacheConfig;
import dev.llmproxy.common.config.CacheConsumer;
import io.vertx.core.Future;

import java.time.Duration;

/**
 * Limits in memory: one limiter per JVM, shared by every proxy verticle instance, so one gateway process
 * counts each request once. Decides synchronously; the future is already complete.
 *
 * <p>With {@code storage: memory} it tracks any number of keys and forgets one idle for three minutes. On a
 * {@code memory} cache of {@code storage.caches} it tracks at most the cache's {@code max_size} keys (0: no bound; beyond it
 * Caffeine drops the least used, whose counters then start afresh) and forgets a key idle for the cache's
 * {@code ttl}, never sooner than {@link CacheConsumer#RATE_LIMIT_MIN_TTL}. The counters of route limits
 * ({@code rate_limit.routes}, one per route and key or client address) are kept apart, with the same bound
 * ({@link #DEFAULT_MAX_ROUTE_COUNTERS} when there is none: without a key they are per client address, and an hour's
 * or a day's counter is kept for two of its windows, so clients from many addresses must not grow the heap without
 * end), and forgotten only once idle for two of their windows too.
 */
public final class MemoryRateLimiter implements RateLimiter {

  static final Duration DEFAULT_IDLE = Duration.ofMinutes(3);
  /** Route counters kept at most when no cache bounds them (a few hundred bytes each): beyond, the least used go. */
  static final long DEFAULT_MAX_ROUTE_COUNTERS = 100_000;

  private final RejectionCounter rejections;
  private final long idleNanos;
  private final ScopeState global = new ScopeState(System.nanoTime());
  private final Cache<String, ScopeState> perKey;
  private final Cache<String, RouteState> perRoute;

  public MemoryRateLimiter(RejectionCounter rejections) {
    this(rejections, -1, DEFAULT_IDLE);
  }

  /** The limiter of a {@code memory} cache: bounded by its {@code max_size}, forgetting by its {@code ttl}. */
  public MemoryRateLimiter(RejectionCounter rejections, CacheConfig cache) {
    this(rejections, cache.maxSize(), cache.ttl());
  }

  /** {@code maxKeys} 0 or less: unbounded. */
  private MemoryRateLimiter(RejectionCounter rejections, long maxKeys, Duration idle) {
    this.rejections = rejections;
    this.idleNanos = (idle.compareTo(CacheConsumer.RATE_LIMIT_MIN_TTL) < 0 ? CacheConsumer.RATE_LIMIT_MIN_TTL : idle)
        .toNanos();
    Caffeine<Object, Object> builder = Caffeine.newBuilder().executor(Runnable::run);
    this.perKey = (maxKeys <= 0 ? builder : builder.maximumSize(maxKeys)).build();
    Caffeine<Object, Object> routes = Caffeine.newBuilder().executor(Runnable::run);
    this.perRoute = routes.maximumSize(maxKeys <= 0 ? DEFAULT_MAX_ROUTE_COUNTERS : maxKeys).build();
  }

  /** How many keys have counters now (after pending evictions). */
  long trackedKeys() {
    perKey.cleanUp();
    return perKey.estimatedSize();
  }

  @Override
  public Future<Admission> admit(LimitPlan plan) {
    return Future.succeededFuture(decide(plan));
  }

  @Override
  public Admission admitAtOnce(LimitPlan plan) {
    return decide(plan);
  }

  private Admission decide(LimitPlan plan) {
    if (!plan.limitsAnything()) {
      return Admission.UNLIMITED;
    }
    long now = System.nanoTime();
    long reserved = plan.reservedTokens();
    RouteScope routeScope = plan.route();
    RouteState route = null;
    if (routeScope != null) {
      route = perRoute.get(routeScope.bucket(), id -> new RouteState(now, routeScope.limits().windowMillis()));
      Denial denial = route.take(routeScope, now);
      if (denial != null) {
        return rejections.denied(denial);
      }
    }
    if (plan.global() != null) {
      Denial denial = global.take(plan.global(), reserved, now, true);
      if (denial != null) {
        if (route != null) {
          route.untake(now);
        }
        return rejections.denied(denial);
      }
    }
    ScopeState key = null;
    if (plan.key() != null) {
      key = perKey.get(plan.keyBucket(), id -> new ScopeState(now));
      Denial denial = key.take(plan.key(), reserved, now, false);
      if (denial != null) {
        if (plan.global() != null) {
          global.untake(plan.global(), reserved, now);
        }
        if (route != null) {
          route.untake(now);
        }
        return rejections.denied(denial);
      }
    }
    return held(plan, key, route, now);
  }

  @Override
  public void forgetIdleKeys() {
    forgetIdleKeys(System.nanoTime());
  }

  /** Forgets the keys with nothing in flight and no request for the idle time before {@code nowNanos}. */
  void forgetIdleKeys(long nowNanos) {
    long before = nowNanos - idleNanos;
    perKey.asMap().values().removeIf(state -> state.idleSince(before));
    perRoute.asMap().values().removeIf(state -> state.idleSince(before, nowNanos));
  }

  /** How many route counters exist now (after pending evictions). */
  long trackedRoutes() {
    perRoute.cleanUp();
    return perRoute.estimatedSize();
  }

  private Admission held(LimitPlan plan, ScopeState key, RouteState route, long now) {
    Budget keyRequests = key == null ? null : key.requestBudget(plan.key(), now);
    Budget requests = keyRequests != null || plan.global() == null ? keyRequests : global.requestBudget(plan.global(), now);
    if (route != null) {
      requests = Budget.tighter(requests, route.budget(plan.route(), now));
    }
    Budget keyTokens = key == null ? null : key.tokenBudget(plan.key(), now);
    Budget tokens = keyTokens != null || plan.global() == null ? keyTokens : global.tokenBudget(plan.global(), now);
    return new Held(plan, key, now, requests, tokens);
  }

  private final class Held extends Admitted {

    private final LimitPlan plan;
    private final ScopeState key;
    private final long globalTokenWindow;
    private final long keyTokenWindow;

    Held(LimitPlan plan, ScopeState key, long now, Budget requests, Budget tokens) {
      super(requests, tokens);
      this.plan = plan;
      this.key = key;
      this.globalTokenWindow = plan.global() == null ? 0 : global.tokenWindow(now);
      this.keyTokenWindow = key == null ? 0 : key.tokenWindow(now);
    }

    @Override
    void settle(long usedTokens) {
      long now = System.nanoTime();
      long correction = usedTokens - plan.reservedTokens();
      if (plan.global() != null) {
        global.complete(globalTokenWindow, plan.global().tokensPerMinute() > 0 ? correction : 0, now);
      }
      if (key != null) {
        key.complete(keyTokenWindow, plan.key().tokensPerMinute() > 0 ? correction : 0, now);
      }
    }
  }
}
