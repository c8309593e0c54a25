package dev.llmproxy.proxy.cache;

import io.vertx.core.Future;

/**
 * {@code caching.response_cache}'s store: answers by their {@link CacheKey}. A store that fails is a miss, never a
 * failed request.
 */
public interface ResponseCache {

  /** The answer stored under {@code key}, or null. */
  Future<CachedAnswer> get(String key);

  /** Stores {@code answer} under {@code key} for the configured ttl; fire and forget. */
  void put(String key, CachedAnswer answer);
}
