package dev.llmproxy.common.config;

import java.time.Duration;
import java.util.Optional;

/**
 * The parts of the gateway that name a {@code storage.caches} entry, and whether each can work on a {@code memory}
 * cache. This is the one place that decides it; validation asks {@link #refusal(CacheConfig)}.
 */
public enum CacheConsumer {

  /**
   * {@code rate_limit.redis}: a memory cache gives the in-process limiter, bounded by the cache's {@code max_size}
   * keys and forgetting a key idle for its {@code ttl}. It counts for this gateway process only, not a cluster.
   */
  RATE_LIMIT(null),

  /**
   * {@code auth.pipeline[].redis.storage} (and the quota charging of those keys): the provider reads key records
   * that another system writes into Redis. A memory cache lives inside this process and nothing can write into it,
   * so every key would be unknown.
   */
  /**
   * {@code caching.response_cache.storage}: {@code memory} is the in-process cache, bounded by {@code max_size_mb};
   * a name is a redis cache of {@code storage.caches}.
   */
  RESPONSE_CACHE("write storage: memory for the in-process response cache; a name of storage.caches must be a redis"
      + " cache"),

  AUTH_REDIS_PROVIDER("a memory cache lives inside this process and nothing outside it can write key records into it,"
      + " so every key would be refused; the redis provider needs a redis cache (or use the builtin, static or"
      + " database provider)");

  /**
   * The in-process limiter keeps an idle key's counters at least this long, whatever a memory cache's {@code ttl}
   * says: its longest window is a minute, and forgetting a key sooner would hand it a fresh one.
   */
  public static final Duration RATE_LIMIT_MIN_TTL = Duration.ofMinutes(1);

  private final String memoryRefusal;

  CacheConsumer(String memoryRefusal) {
    this.memoryRefusal = memoryRefusal;
  }

  /** Why this consumer cannot use {@code cache}, or empty when it can. */
  public Optional<String> refusal(CacheConfig cache) {
    return cache.isMemory() ? Optional.ofNullable(memoryRefusal) : Optional.empty();
  }
}
