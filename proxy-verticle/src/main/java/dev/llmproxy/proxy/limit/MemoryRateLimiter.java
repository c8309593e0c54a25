package dev.llmproxy.proxy.limit;

import io.vertx.core.Future;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Limits in memory: one limiter per JVM, shared by every proxy verticle instance, so one gateway process
 * counts each request once. Decides synchronously; the future is already complete.
 */
public final class MemoryRateLimiter implements RateLimiter {

  private static final long IDLE_NANOS = 180_000_000_000L;

  private final RejectionCounter rejections;
  private final ScopeState global = new ScopeState(System.nanoTime());
  private final ConcurrentHashMap<String, ScopeState> perKey = new ConcurrentHashMap<>();

  public MemoryRateLimiter(RejectionCounter rejections) {
    this.rejections = rejections;
  }

  @Override
  public Future<Admission> admit(LimitPlan plan) {
    return Future.succeededFuture(decide(plan));
  }

  private Admission decide(LimitPlan plan) {
    if (!plan.limitsAnything()) {
      return Admission.UNLIMITED;
    }
    long now = System.nanoTime();
    long reserved = plan.reservedTokens();
    if (plan.global() != null) {
      Denial denial = global.take(plan.global(), reserved, now, true);
      if (denial != null) {
        return rejections.denied(denial);
      }
    }
    ScopeState key = null;
    if (plan.key() != null) {
      key = perKey.computeIfAbsent(plan.keyBucket(), id -> new ScopeState(now));
      Denial denial = key.take(plan.key(), reserved, now, false);
      if (denial != null) {
        if (plan.global() != null) {
          global.untake(plan.global(), reserved, now);
        }
        return rejections.denied(denial);
      }
    }
    return held(plan, key, now);
  }

  @Override
  public void forgetIdleKeys() {
    long before = System.nanoTime() - IDLE_NANOS;
    perKey.values().removeIf(state -> state.idleSince(before));
  }

  private Admission held(LimitPlan plan, ScopeState key, long now) {
    Budget keyRequests = key == null ? null : key.requestBudget(plan.key(), now);
    Budget requests = keyRequests != null || plan.global() == null ? keyRequests : global.requestBudget(plan.global(), now);
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
