package dev.llmproxy.proxy.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;

import java.time.Duration;

/**
 * The response cache in this process (Caffeine): bounded by {@code max_size_mb}, each entry weighed by its bytes;
 * an entry expires {@code ttl} after it was written. Shared by every proxy verticle instance of the JVM.
 */
public final class MemoryResponseCache implements ResponseCache {

  private final Cache<String, CachedAnswer> cache;
  private final int maxSizeMb;
  private final Duration ttl;

  public MemoryResponseCache(int maxSizeMb, Duration ttl) {
    this.maxSizeMb = maxSizeMb;
    this.ttl = ttl;
    this.cache = Caffeine.newBuilder()
        .maximumWeight((long) maxSizeMb << 20)
        .weigher((String key, CachedAnswer answer) -> answer.weight(key))
        .expireAfterWrite(ttl)
        // Eviction work on the calling thread: no extra pool, and it is a few map operations.
        .executor(Runnable::run)
        .build();
  }

  /** The same settings: a reloaded config keeps this cache and what it holds. */
  public boolean sameAs(int maxSizeMb, Duration ttl) {
    return this.maxSizeMb == maxSizeMb && this.ttl.equals(ttl);
  }

  @Override
  public Future<CachedAnswer> get(String key) {
    return Future.succeededFuture(cache.getIfPresent(key));
  }

  @Override
  public void put(String key, CachedAnswer answer) {
    cache.put(key, answer);
  }

  /** The bytes held now, after pending evictions ran (for tests and metrics). */
  public long weightedBytes() {
    cache.cleanUp();
    return cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }
}
