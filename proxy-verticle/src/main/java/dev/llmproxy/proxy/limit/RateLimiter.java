package dev.llmproxy.proxy.limit;

import io.vertx.core.Future;

/**
 * {@code rate_limit}: checks and counts a request against every limit of its plan at once, so that a request
 * is counted by every limit or by none. In memory ({@link MemoryRateLimiter}, one per JVM) or in Redis
 * ({@link RedisRateLimiter}, shared by every gateway that uses the same Redis).
 */
public interface RateLimiter {

  Future<Admission> admit(LimitPlan plan);

  /**
   * The admission of a limiter that decides at once (in memory), as {@link #admit} would complete with it; null for
   * one that has to ask a store (then {@link #admit}).
   */
  default Admission admitAtOnce(LimitPlan plan) {
    return null;
  }

  /** Housekeeping once a minute; the in-memory limiter forgets idle keys. */
  default void forgetIdleKeys() {
  }

  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
