package dev.llmproxy.proxy.auth;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.bus.KeyHash;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The JVM's auth decision cache on its own: its bounds, its invalidations, and several threads at once. */
class AuthDecisionCacheTest {

  private static AuthDecision allowed(String key) {
    return new AuthDecision(true, 200, null, null, key, null, key, null, null, null, null, null, 60_000);
  }

  private static void put(AuthDecisionCache cache, String key) {
    cache.put(key, KeyHash.sha256Hex(key), allowed(key), cache.generation());
  }

  @Test
  void boundedByEntriesTheLeastRecentlyUsedLeavingFirstAndByKeyLength() {
    AuthDecisionCache cache = new AuthDecisionCache();
    put(cache, "key-0");
    for (int i = 1; i <= AuthDecisionCache.MAX_CACHED; i++) {
      put(cache, "key-" + i);
      if (i == AuthDecisionCache.MAX_CACHED / 2) {
        assertNotNull(cache.get("key-0"), "used: it becomes the most recent");
      }
    }
    assertEquals(AuthDecisionCache.MAX_CACHED, cache.size());
    assertNotNull(cache.get("key-0"), "recently used, kept");
    assertNull(cache.get("key-1"), "the least recently used left");
    String overlong = "k".repeat(AuthGate.MAX_KEY_LENGTH + 1);
    put(cache, overlong);
    assertNull(cache.get(overlong), "a key longer than the gate looks at is never held");
  }

  @Test
  void forgottenByKeyHashAllAtOnceAndAnAnswerAskedBeforeAForgetIsNotKept() {
    AuthDecisionCache cache = new AuthDecisionCache();
    put(cache, "sk-one");
    put(cache, "sk-two");
    cache.forget(KeyHash.sha256Hex("sk-one").toUpperCase());
    assertNull(cache.get("sk-one"));
    assertNotNull(cache.get("sk-two"));

    long askedIn = cache.generation();
    cache.forgetAll();
    assertNull(cache.get("sk-two"));
    cache.put("sk-three", KeyHash.sha256Hex("sk-three"), allowed("sk-three"), askedIn);
    assertNull(cache.get("sk-three"), "asked before the keys changed: its answer may be of the old keys");
    put(cache, "sk-three");
    assertNotNull(cache.get("sk-three"));
  }

  @Test
  void manyThreadsAtOnceKeepItConsistentAndBounded() throws Exception {
    AuthDecisionCache cache = new AuthDecisionCache();
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> work = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        work.add(threads.submit(() -> {
          for (int i = 0; i < 20_000; i++) {
            String key = "sk-" + thread + "-" + (i % 6_000);
            if (cache.get(key) == null) {
              put(cache, key);
            }
            if (i % 5_000 == 0) {
              cache.forget(KeyHash.sha256Hex(key));
            }
          }
        }));
      }
      for (Future<?> f : work) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    int held = cache.size();
    assertEquals(true, held > 0 && held <= AuthDecisionCache.MAX_CACHED, "held " + held);
    // Every held key is also known by its hash: forgetting each by hash empties the cache.
    for (int thread = 0; thread < 4; thread++) {
      for (int i = 0; i < 6_000; i++) {
        cache.forget(KeyHash.sha256Hex("sk-" + thread + "-" + i));
      }
    }
    assertEquals(0, cache.size());
  }
}
