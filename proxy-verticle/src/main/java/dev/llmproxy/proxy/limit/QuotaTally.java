package dev.llmproxy.proxy.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tokens this JVM's proxies have relayed per key with a quota, for {@code auth.quota_enforcement: strict}: a
 * count that only grows. An auth decision says what a key had left when its record was read; the store learns of
 * the tokens relayed since only once their usage records have been charged (the usage journal, then a batch), and
 * a decision may be reused from a cache meanwhile. Whoever holds a decision notes this count when it was read
 * ({@link #relayed}) and takes what the count grew by since off the quota the decision gave. Streams of the same key
 * in flight at once see each other's tokens here as they pass.
 *
 * <p>Shared by every proxy instance of the JVM; thread-safe. A key idle for a day is forgotten: no decision is
 * reused that long, so nobody holds a mark against its count any more.
 */
public final class QuotaTally {

  private static final Duration IDLE = Duration.ofDays(1);

  private final Cache<String, AtomicLong> relayed = Caffeine.newBuilder()
      .expireAfterAccess(IDLE)
      .executor(Runnable::run)
      .build();

  /** The tokens relayed for the key so far (a mark to subtract later counts from). */
  public long relayed(String keyId) {
    AtomicLong count = relayed.getIfPresent(keyId);
    return count == null ? 0 : count.get();
  }

  /** Adds the tokens relayed (or, at an exchange's end, the correction to what it really used; may be negative). */
  public void add(String keyId, long tokens) {
    if (tokens != 0) {
      relayed.get(keyId, id -> new AtomicLong()).addAndGet(tokens);
    }
  }

  /** What the key's count grew by since {@code mark}; never negative (a forgotten key starts again at 0). */
  public long since(String keyId, long mark) {
    return Math.max(0, relayed(keyId) - mark);
  }
}
