package dev.llmproxy.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.llmproxy.common.bus.AuthDecision;

/**
 * Recent decisions by key hash and client address, each kept for its own time (found keys {@code auth.cache_ttl},
 * refusals {@code auth.negative_cache_ttl}, never past the key's expiry). Bounded in size. Entries of a key are
 * dropped at once when {@code llmproxy.keys.changed} names it.
 */
final class DecisionCache {

  private static final long MAX_ENTRIES = 100_000;

  private record Entry(AuthDecision decision, long ttlNanos, long expiresAtNanos) {
  }

  private final Cache<String, Entry> cache = Caffeine.newBuilder()
      .maximumSize(MAX_ENTRIES)
      .expireAfter(new Expiry<String, Entry>() {
        @Override
        public long expireAfterCreate(String key, Entry entry, long currentTime) {
          return entry.ttlNanos();
        }

        @Override
        public long expireAfterUpdate(String key, Entry entry, long currentTime, long currentDuration) {
          return entry.ttlNanos();
        }

        @Override
        public long expireAfterRead(String key, Entry entry, long currentTime, long currentDuration) {
          return currentDuration;
        }
      })
      // maintenance on the calling event loop: no pool threads for a cache this small in work
      .executor(Runnable::run)
      .build();

  static String key(String keyHash, String clientIp) {
    return keyHash + '|' + (clientIp == null ? "" : clientIp);
  }

  /**
   * The cached decision, its {@code cacheTtlMs} lowered to what is left of the entry's time; null if none. Its
   * {@code remainingQuota} is given as read: it is exactly as stale as the store, since every charge to the store is
   * followed by {@code llmproxy.keys.changed} for the key, which drops the entry. What is relayed but not yet charged
   * is the proxy's to subtract (it alone knows it).
   */
  AuthDecision get(String key) {
    Entry entry = cache.getIfPresent(key);
    if (entry == null) {
      return null;
    }
    long leftMs = (entry.expiresAtNanos() - System.nanoTime()) / 1_000_000;
    if (leftMs <= 0) {
      return null;
    }
    AuthDecision d = entry.decision();
    if (d.cacheTtlMs() <= leftMs) {
      return d;
    }
    return d.reused(leftMs, d.remainingQuota());
  }

  void put(String key, AuthDecision decision, long ttlMs) {
    if (ttlMs <= 0) {
      return;
    }
    long ttlNanos = ttlMs * 1_000_000L;
    cache.put(key, new Entry(decision, ttlNanos, System.nanoTime() + ttlNanos));
  }

  void invalidateKey(String keyHash) {
    String prefix = keyHash + '|';
    cache.asMap().keySet().removeIf(k -> k.startsWith(prefix));
  }

  void invalidateAll() {
    cache.invalidateAll();
  }

  long size() {
    return cache.estimatedSize();
  }
}
