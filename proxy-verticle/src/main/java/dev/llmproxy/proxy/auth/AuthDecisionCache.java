package dev.llmproxy.proxy.auth;

import dev.llmproxy.common.bus.AuthDecision;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The auth decisions of one JVM's proxy instances, shared by all of them: a key checked on one event loop costs a map
 * lookup on every other. Bounded as each instance's cache was: at most {@link #MAX_CACHED} keys, the least recently
 * used leaving first, and only keys of at most {@link AuthGate#MAX_KEY_LENGTH} characters ever reach it.
 *
 * <p>Thread-safe by one lock around a small access-ordered map: every operation is a few map steps, and nothing is
 * asked or awaited while it is held.
 *
 * <p>Dropping everything ({@link #forgetAll}) starts a new generation: an answer asked for before it and arriving
 * after it is not cached ({@link #put} with the generation read when asking), so a decision of the keys before a
 * reload or a {@code keys.changed} never comes back through a check that was already under way.
 */
public final class AuthDecisionCache {

  static final int MAX_CACHED = 10_000;

  /**
   * @param mark the key's {@link dev.llmproxy.proxy.limit.QuotaTally} count when the decision came: a reuse takes what
   *             the count grew by since off the decision's quota left ({@code auth.quota_enforcement: strict})
   */
  public record Cached(AuthDecision decision, long expiresAtNanos, String keyHash, long mark) {
  }

  private final Map<String, Cached> byKey = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
      if (size() > MAX_CACHED) {
        keysByHash.remove(eldest.getValue().keyHash());
        return true;
      }
      return false;
    }
  };
  /** The cached keys by their SHA-256, the name {@code keys.changed} gives them. */
  private final Map<String, String> keysByHash = new HashMap<>();
  private long generation;

  /** The decision for {@code key} while it is valid; null when none is (an expired one is dropped). */
  public synchronized Cached get(String key) {
    Cached cached = byKey.get(key);
    if (cached == null) {
      return null;
    }
    if (System.nanoTime() < cached.expiresAtNanos()) {
      return cached;
    }
    keysByHash.remove(cached.keyHash());
    byKey.remove(key);
    return null;
  }

  /** What to hand back to {@link #put}: the cache's state when the auth verticle was asked. */
  public synchronized long generation() {
    return generation;
  }

  /**
   * Keeps {@code decision} for its {@code cacheTtlMs}, unless everything was dropped since {@code askedInGeneration}.
   *
   * @param keyHash the key's SHA-256 (hex), by which a {@code keys.changed} names it
   */
  public void put(String key, String keyHash, AuthDecision decision, long askedInGeneration) {
    put(key, keyHash, decision, 0, askedInGeneration);
  }

  /** As {@link #put(String, String, AuthDecision, long)}, with the key's quota tally {@code mark} of the moment. */
  public synchronized void put(String key, String keyHash, AuthDecision decision, long mark, long askedInGeneration) {
    if (askedInGeneration != generation || key.length() > AuthGate.MAX_KEY_LENGTH) {
      return;
    }
    Cached previous = byKey.put(key, new Cached(decision, System.nanoTime() + decision.cacheTtlMs() * 1_000_000,
        keyHash, mark));
    if (previous != null && !previous.keyHash().equals(keyHash)) {
      keysByHash.remove(previous.keyHash());
    }
    keysByHash.put(keyHash, key);
  }

  /** Drops every decision (keys were reloaded, or a change named them all). */
  public synchronized void forgetAll() {
    byKey.clear();
    keysByHash.clear();
    generation++;
  }

  /** Drops the decision of the key whose SHA-256 is {@code keyHash}, if one is cached. */
  public synchronized void forget(String keyHash) {
    String key = keysByHash.remove(keyHash.toLowerCase());
    if (key != null) {
      byKey.remove(key);
    }
  }

  /** How many decisions are held now. */
  public synchronized int size() {
    return byKey.size();
  }
}
