package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.MetricsConfig;
import dev.llmproxy.common.config.CacheConfig;
import dev.llmproxy.common.config.RateLimitConfig;
import dev.llmproxy.common.config.StorageConfig;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.proxy.limit.MemoryRateLimiter;
import dev.llmproxy.proxy.limit.RateLimiter;
import dev.llmproxy.proxy.limit.RedisRateLimiter;
import dev.llmproxy.proxy.limit.RejectionCounter;
import dev.llmproxy.proxy.limit.StoreErrors;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import dev.llmproxy.proxy.balance.engine.EngineMetricsScraper;
import io.vertx.core.Vertx;
import dev.llmproxy.common.verticle.JvmResources;
import dev.llmproxy.proxy.auth.AuthDecisionCache;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import dev.llmproxy.common.config.ResponseCacheConfig;
import dev.llmproxy.proxy.cache.MemoryResponseCache;
import dev.llmproxy.proxy.cache.RedisResponseCache;
import dev.llmproxy.proxy.cache.ResponseCache;

/**
 * What every proxy verticle instance of one JVM shares: the metrics registry, the lifecycle flags the launcher sets,
 * the in-memory limiter and caches. One per Vert.x instance, in its {@link JvmResources}: the launcher puts its own
 * there before it deploys the proxies ({@link #register}); a proxy deployed from its config alone (a test, another
 * embedding) creates one on first use ({@link #of}), which counts as started once a proxy instance listens.
 */
public final class ProxyEnvironment {

  private static final Duration SCRAPE_INTERVAL = Duration.ofSeconds(1);

  private final PrometheusMeterRegistry registry;
  private final ProxyMetrics metrics;
  private final BackendStatsRegistry backendStats;
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicReference<EngineMetricsScraper> engineScraper = new AtomicReference<>();
  /** The JVM's in-memory limiter and the memory cache it was built for (null: none named). */
  private record SharedLimiter(MemoryRateLimiter limiter, CacheConfig cache) {
  }

  private final AtomicReference<SharedLimiter> rateLimiter = new AtomicReference<>();
  private final AtomicReference<MemoryResponseCache> memoryResponseCache = new AtomicReference<>();
  private final RejectionCounter rejections;
  private final dev.llmproxy.proxy.metrics.FlowMetrics flowMetrics;
  private final FlowGate flowGate = new FlowGate();
  private final StoreErrors storeErrors;
  private volatile String rateLimitPrefix = "llmproxy:ratelimit:";
  private volatile long slotLifetimeMs = RedisRateLimiter.SLOT_LIFETIME_MS;
  private final AtomicBoolean draining = new AtomicBoolean();
  private volatile String authCheckAddress = Addresses.AUTH_CHECK;
  private volatile UsageRoute usageRoute = UsageRoute.USAGE_VERTICLE;
  private volatile boolean usageRecorded = true;
  private volatile io.opentelemetry.api.OpenTelemetry openTelemetry;
  private final dev.llmproxy.proxy.limit.QuotaTally quotaTally = new dev.llmproxy.proxy.limit.QuotaTally();
  /** Created by a proxy rather than put by a launcher: nobody else will say when the gateway has started. */
  private volatile boolean startsWithFirstProxy;
  private final AuthDecisionCache decisions = new AuthDecisionCache();

  /**
   * The environment of {@code vertx}'s proxies: the one a launcher registered, else one created now, on the JVM's
   * meter registry (a Prometheus one, created too when there is none yet).
   */
  public static ProxyEnvironment of(Vertx vertx, MetricsConfig config) {
    JvmResources jvm = JvmResources.of(vertx);
    return jvm.computeIfAbsent(ProxyEnvironment.class, () -> {
      MeterRegistry shared = jvm.computeIfAbsent(MeterRegistry.class,
          () -> new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
      ProxyEnvironment created = new ProxyEnvironment(shared instanceof PrometheusMeterRegistry prometheus ? prometheus
          : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), config);
      created.startsWithFirstProxy = true;
      return created;
    });
  }

  /** Makes this the environment every proxy deployed on {@code vertx} from now on takes. */
  public ProxyEnvironment register(Vertx vertx) {
    JvmResources.of(vertx).put(ProxyEnvironment.class, this);
    return this;
  }

  public ProxyEnvironment(PrometheusMeterRegistry registry, MetricsConfig config) {
    this.registry = registry;
    this.metrics = new ProxyMetrics(registry, config);
    this.backendStats = new BackendStatsRegistry(registry);
    this.rejections = new RejectionCounter(registry);
    this.flowMetrics = new dev.llmproxy.proxy.metrics.FlowMetrics(registry);
    this.storeErrors = new StoreErrors(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public ProxyMetrics metrics() {
    return metrics;
  }

  dev.llmproxy.proxy.metrics.FlowMetrics flowMetrics() {
    return flowMetrics;
  }

  /** {@code routing.flow_control}'s queue: one for the JVM, whatever the proxy instances and configs. */
  FlowGate flowGate() {
    return flowGate;
  }

  /** The tokens this JVM's proxies relayed per key, for {@code auth.quota_enforcement: strict}. */
  public dev.llmproxy.proxy.limit.QuotaTally quotaTally() {
    return quotaTally;
  }

  public BackendStatsRegistry backendStats() {
    return backendStats;
  }

  /**
   * The one scraper of backends' own metrics for {@code queue_aware}, started by the first proxy instance that
   * asks, on that instance's event loop. Never on the request path.
   */
  EngineMetricsScraper engineScraper(Vertx vertx) {
    EngineMetricsScraper existing = engineScraper.get();
    if (existing != null) {
      return existing;
    }
    EngineMetricsScraper scraper = new EngineMetricsScraper(vertx, SCRAPE_INTERVAL, SCRAPE_INTERVAL, (url, load) -> {
      BackendStats stats = backendStats.ofUrl(url);
      if (stats != null) {
        stats.engineScore(load == null ? Double.NaN : load.score(), load == null ? 0 : load.scrapedAtNanos());
        stats.engineLoad(load);
      }
    }, (url, slots) -> {
      BackendStats stats = backendStats.ofUrl(url);
      if (stats != null) {
        stats.engineSlots(slots);
      }
    });
    if (engineScraper.compareAndSet(null, scraper)) {
      scraper.start();
      return scraper;
    }
    scraper.stop();
    return engineScraper.get();
  }

  /**
   * The rate limiter of one proxy instance: with {@code storage: memory}, or {@code redis} naming a memory cache,
   * the one in-memory limiter of the JVM (bounded by that cache); with a redis cache a limiter on the instance's
   * own Redis client (its state is in Redis).
   */
  RateLimiter rateLimiter(Vertx vertx, RateLimitConfig config, Pools pools, StorageConfig storage) {
    boolean namesCache = config.storage().equals("redis");
    CacheConfig cache = namesCache ? storage.cache(config.redis()).orElse(null) : null;
    if (namesCache && (cache == null || !cache.isMemory())) {
      return new RedisRateLimiter(vertx, pools.redis(config.redis()), rateLimitPrefix, config.storeTimeout().toMillis(),
          config.onStoreError(), rejections, storeErrors.of(config.redis()), slotLifetimeMs);
    }
    // Kept across config reloads (its counters with it) while the cache it follows is the same.
    return rateLimiter.updateAndGet(existing -> existing != null && java.util.Objects.equals(existing.cache(), cache)
        ? existing
        : new SharedLimiter(cache != null ? new MemoryRateLimiter(rejections, cache) : new MemoryRateLimiter(rejections),
            cache)).limiter();
  }

  /**
   * The response cache of {@code caching.response_cache}: a redis cache's, or the JVM's memory cache, shared by
   * every proxy verticle instance and kept across reloads (with what it holds) while its size and ttl stay.
   */
  ResponseCache responseCache(ResponseCacheConfig config, Pools pools) {
    if (!config.inMemory()) {
      return new RedisResponseCache(pools.redis(config.storage()), config.ttl());
    }
    return memoryResponseCache.updateAndGet(existing -> existing != null && existing.sameAs(config.maxSizeMb(),
        config.ttl()) ? existing : new MemoryResponseCache(config.maxSizeMb(), config.ttl()));
  }

  /** The cache is off (or in Redis) in the running config: what the memory cache held is let go. */
  void noMemoryResponseCache() {
    memoryResponseCache.set(null);
  }

  /** Tests see a slot's lifetime pass in seconds, not a minute. */
  void slotLifetime(long ms) {
    this.slotLifetimeMs = ms;
  }

  /** Tests keep their Redis keys apart with their own prefix. */
  void rateLimitPrefix(String prefix) {
    this.rateLimitPrefix = prefix;
  }

  void stopEngineScraper() {
    EngineMetricsScraper scraper = engineScraper.getAndSet(null);
    if (scraper != null) {
      scraper.stop();
    }
  }

  /**
   * Where the proxies ask for auth decisions: the launcher sets {@link Addresses#AUTH_CHECK_LOCAL} when it deploys
   * the auth verticle in this JVM; by default any auth verticle of the cluster answers.
   */
  public void authCheckAddress(String address) {
    this.authCheckAddress = address;
  }

  String authCheckAddress() {
    return authCheckAddress;
  }

  /**
   * The proxies' usage records go to the usage hand-over of this JVM instead of a usage verticle: the launcher sets
   * it on a cluster member that runs the proxy but not the usage verticle.
   */
  public void handOverUsage() {
    this.usageRoute = UsageRoute.HANDOVER;
  }

  UsageRoute usageRoute() {
    return usageRoute;
  }

  /**
   * Nothing in this gateway reads usage records (no reporter, no key store charged): the proxies make none, and
   * count the tokens in their metrics only. The launcher sets it at start, outside a cluster, from the config the usage
   * verticle keeps until a restart. A record handed over costs the proxy's loop a wake-up of the usage verticle's.
   */
  public void noUsageRecords() {
    this.usageRecorded = false;
  }

  boolean usageRecorded() {
    return usageRecorded;
  }

  /** Every verticle is deployed: {@code /ready} may answer 200 once a backend is usable. */
  public void markStarted() {
    started.set(true);
  }

  /** Shutdown began: {@code /ready} answers 503 so that load balancers stop sending traffic. */
  public void markDraining() {
    draining.set(true);
  }

  /** A proxy instance listens: an environment no launcher registered starts taking traffic now. */
  void proxyListening() {
    if (startsWithFirstProxy) {
      started.set(true);
    }
  }

  /** The auth decisions of every proxy instance of this JVM: a key checked on one event loop is known to all. */
  public AuthDecisionCache decisions() {
    return decisions;
  }

  boolean accepting() {
    return started.get() && !draining.get();
  }

  /** The tracing SDK the gateway's Vert.x was built with ({@code tracing.enabled}); null when tracing is off. */
  public io.opentelemetry.api.OpenTelemetry openTelemetry() {
    return openTelemetry;
  }

  public void openTelemetry(io.opentelemetry.api.OpenTelemetry openTelemetry) {
    this.openTelemetry = openTelemetry;
  }
}
