package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitConfig;
import dev.llmproxy.common.config.RateLimitTierConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code rate_limit} in memory: one limiter per JVM, shared by every proxy verticle instance. Global limits
 * count every request; per-key limits count each key's, with the key record's own {@code rpm} and
 * {@code max_concurrent} winning over {@code per_key}.
 */
public final class RateLimiter {

  private static final long IDLE_NANOS = 180_000_000_000L;

  private final RateLimitConfig config;
  private final MeterRegistry meters;
  private final LimitState global;
  private final ConcurrentHashMap<String, LimitState> perKey = new ConcurrentHashMap<>();

  public RateLimiter(RateLimitConfig config, MeterRegistry meters) {
    this.config = config;
    this.meters = meters;
    RateLimitTierConfig tier = config.global();
    this.global = config.enabled() && tier.enabled() ? new LimitState(tier, null, null, System.nanoTime()) : null;
  }

  public boolean enabled() {
    return config.enabled() && (global != null || config.perKey().enabled());
  }

  /**
   * Admits the request or says which limit it hit.
   *
   * @param keyId the key's stable id, or null for requests without a key (only global limits apply)
   */
  public Admission admit(String keyId, Long rpmOverride, Integer maxConcurrentOverride) {
    long now = System.nanoTime();
    if (global != null) {
      Denial denial = global.take(now, "for the gateway");
      if (denial != null) {
        return rejected(denial, "global");
      }
    }
    LimitState key = null;
    if (keyId != null && config.perKey().enabled()) {
      key = perKey.computeIfAbsent(keyId, id -> new LimitState(config.perKey(), rpmOverride, maxConcurrentOverride, now));
      Denial denial = key.take(now, "for this key");
      if (denial != null) {
        if (global != null) {
          global.untake();
        }
        return rejected(denial, "key");
      }
    }
    return new Admission(null, global, key);
  }

  private Admission rejected(Denial denial, String scope) {
    Counter.builder("llmproxy_ratelimit_rejections").description("Requests refused by a rate limit")
        .tag("scope", scope).tag("limit", denial.limit().substring(0, denial.limit().indexOf(" for "))).register(meters)
        .increment();
    return new Admission(denial, null, null);
  }

  /** Forgets keys that have been idle for a while, so that the map does not grow with every key ever seen. */
  public void forgetIdleKeys() {
    long before = System.nanoTime() - IDLE_NANOS;
    perKey.values().removeIf(state -> state.idleSince(before));
  }

  /** The outcome: admitted (then {@link #release()} once the request ends) or denied. */
  public static final class Admission {

    private final Denial denial;
    private LimitState global;
    private LimitState key;

    Admission(Denial denial, LimitState global, LimitState key) {
      this.denial = denial;
      this.global = global;
      this.key = key;
    }

    public Denial denial() {
      return denial;
    }

    /** The per-minute budget of the tightest scope, for the x-ratelimit headers; null when none applies. */
    public long[] minuteBudget() {
      long now = System.nanoTime();
      long[] keyBudget = key == null ? null : key.minuteBudget(now);
      return keyBudget != null ? keyBudget : global == null ? null : global.minuteBudget(now);
    }

    /** Gives the concurrency slots back; idempotent. */
    public void release() {
      if (global != null) {
        global.release();
        global = null;
      }
      if (key != null) {
        key.release();
        key = null;
      }
    }
  }
}
