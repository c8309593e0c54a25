package dev.llmproxy.proxy.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.CacheConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The in-memory limiter on a {@code memory} cache: {@code max_size} bounds its keys, {@code ttl} forgets them. */
class MemoryRateLimiterTest {

  private static final Limits ONE_PER_MINUTE = new Limits(0, 0, 1, 0, 0);
  private static final long SECOND = 1_000_000_000L;

  private static CacheConfig memoryCache(int maxSize, Duration ttl) {
    return new CacheConfig("local", true, "memory", "", "", 0, 1, 0, Duration.ofSeconds(1), Duration.ofSeconds(1),
        Duration.ofSeconds(1), maxSize, ttl);
  }

  private static MemoryRateLimiter limiter(CacheConfig cache) {
    return new MemoryRateLimiter(new RejectionCounter(new SimpleMeterRegistry()), cache);
  }

  /** Admits one request of {@code key} and completes it; the denial when it was refused. */
  private static Denial request(MemoryRateLimiter limiter, String key) {
    Admission admission = limiter.admit(new LimitPlan(null, key, ONE_PER_MINUTE, 0)).result();
    admission.complete(0);
    return admission.denial();
  }

  @Test
  void aDecisionAtOnceCountsAsTheFuturesDoes() {
    MemoryRateLimiter limiter = limiter(memoryCache(0, Duration.ofMinutes(5)));
    LimitPlan plan = new LimitPlan(null, "k", ONE_PER_MINUTE, 0);
    Admission first = limiter.admitAtOnce(plan);
    assertNull(first.denial(), "the minute's one request");
    assertEquals("requests_per_minute", limiter.admit(plan).result().denial().metric(), "counted: the future sees it");
    assertEquals("requests_per_minute", limiter.admitAtOnce(plan).denial().metric());
    assertNull(limiter.admitAtOnce(new LimitPlan(null, "other", ONE_PER_MINUTE, 0)).denial(), "another key, its own");
  }

  @Test
  void maxSizeBoundsHowManyKeysHaveCounters() {
    MemoryRateLimiter limiter = limiter(memoryCache(3, Duration.ofMinutes(5)));
    for (int i = 0; i < 50; i++) {
      assertNull(request(limiter, "key-" + i));
    }
    assertTrue(limiter.trackedKeys() <= 3, "tracked " + limiter.trackedKeys());
  }

  @Test
  void zeroMaxSizeMeansNoBound() {
    MemoryRateLimiter limiter = limiter(memoryCache(0, Duration.ofMinutes(5)));
    for (int i = 0; i < 50; i++) {
      request(limiter, "key-" + i);
    }
    assertEquals(50, limiter.trackedKeys());
  }

  @Test
  void aKeyIdleForTheTtlIsForgottenAndStartsAfresh() {
    MemoryRateLimiter limiter = limiter(memoryCache(100, Duration.ofMinutes(2)));
    long start = System.nanoTime();
    assertNull(request(limiter, "k"));
    assertEquals("requests_per_minute", request(limiter, "k").metric());
    limiter.forgetIdleKeys(start + 100 * SECOND);
    assertEquals(1, limiter.trackedKeys(), "idle less than the ttl: kept");
    limiter.forgetIdleKeys(start + 150 * SECOND);
    assertEquals(0, limiter.trackedKeys(), "idle longer than the 2m ttl: forgotten (the default keeps 3m)");
  }

  @Test
  void aTtlShorterThanAMinuteNeverForgetsAKeyWithinItsMinuteWindow() {
    MemoryRateLimiter limiter = limiter(memoryCache(100, Duration.ofSeconds(5)));
    long start = System.nanoTime();
    request(limiter, "k");
    limiter.forgetIdleKeys(start + 30 * SECOND);
    assertEquals(1, limiter.trackedKeys());
    assertEquals("requests_per_minute", request(limiter, "k").metric());
  }

  /** An hour's route count outlives the keys' idle time: it is forgotten only once two windows hold nothing of it. */
  @Test
  void aRoutesCountIsKeptForTwoOfItsWindowsWhateverTheTtl() {
    MemoryRateLimiter limiter = limiter(memoryCache(100, Duration.ofMinutes(2)));
    RouteScope hourly = new RouteScope("route:hour:/v1/embeddings|ip:203.0.113.1", "/v1/embeddings", "hour", false,
        Limits.perWindow(1, Duration.ofHours(1).toMillis()));
    LimitPlan plan = new LimitPlan(null, null, null, 0, hourly);
    long start = System.nanoTime();
    assertNull(limiter.admit(plan).result().denial());
    assertEquals("requests_per_hour", limiter.admit(plan).result().denial().metric());
    limiter.forgetIdleKeys(start + 3600 * SECOND);
    assertEquals(1, limiter.trackedRoutes(), "idle past the ttl, but within two hours: kept");
    assertEquals("requests_per_hour", limiter.admit(plan).result().denial().metric());
    limiter.forgetIdleKeys(System.nanoTime() + 7201 * SECOND);
    assertEquals(0, limiter.trackedRoutes(), "idle for two hours: nothing of it is read any more");
  }

  /** Route counters per client address are bounded: by the cache's max_size, else by a default. */
  @Test
  void routeCountersAreBoundedWithOrWithoutACache() {
    MemoryRateLimiter bounded = limiter(memoryCache(3, Duration.ofMinutes(5)));
    MemoryRateLimiter unconfigured = new MemoryRateLimiter(new RejectionCounter(new SimpleMeterRegistry()));
    long addresses = MemoryRateLimiter.DEFAULT_MAX_ROUTE_COUNTERS + 5_000;
    for (long i = 0; i < addresses; i++) {
      RouteScope daily = new RouteScope("route:day:/v1/embeddings|ip:" + i, "/v1/embeddings", "day", false,
          Limits.perWindow(10, Duration.ofDays(1).toMillis()));
      LimitPlan plan = new LimitPlan(null, null, null, 0, daily);
      if (i < 50) {
        assertNull(bounded.admit(plan).result().denial());
      }
      assertNull(unconfigured.admit(plan).result().denial());
    }
    assertTrue(bounded.trackedRoutes() <= 3, "tracked " + bounded.trackedRoutes());
    assertTrue(unconfigured.trackedRoutes() <= MemoryRateLimiter.DEFAULT_MAX_ROUTE_COUNTERS,
        "tracked " + unconfigured.trackedRoutes());
  }
}
