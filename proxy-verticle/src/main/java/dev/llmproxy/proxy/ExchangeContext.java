package dev.llmproxy.proxy;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.RoutingConfig;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.common.util.IpRanges;
import dev.llmproxy.proxy.auth.AuthGate;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import dev.llmproxy.proxy.balance.RetryPolicy;
import dev.llmproxy.proxy.balance.Router;
import dev.llmproxy.proxy.balance.engine.EngineMetricsScraper;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.proxy.limit.LimitPlanner;
import dev.llmproxy.proxy.limit.RateLimiter;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import dev.llmproxy.proxy.upstream.BackendClients;
import dev.llmproxy.proxy.upstream.HopByHop;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.model.Backend;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What every exchange of one proxy verticle instance needs. Lives on that instance's event loop only.
 */
final class ExchangeContext {

  final Vertx vertx;
  final GatewayConfig config;
  final ProxyEnvironment environment;
  final ProxyMetrics metrics;
  final BackendClients clients;
  final BackendStatsRegistry stats;
  final Router router;
  final RetryPolicy retryPolicy;
  final ModelCatalog models;
  /** Null when no rate limit applies. */
  final RateLimiter rateLimiter;
  final LimitPlanner limitPlanner;
  /** This instance's named stores (the rate limiter's Redis); closed on stop. */
  final Pools pools;
  /** Headers not copied to the backend on inference routes (the gateway reads their answers). */
  final Set<String> inferenceSkippedHeaders;
  /** The server spans, when {@code tracing} is on; null otherwise. */
  final ExchangeTracing tracing;
  /** Headers not copied to the backend on passthrough routes. */
  final Set<String> passthroughSkippedHeaders;
  final AuthGate auth;
  final ClientAddress clientAddress;
  /** The access and request logs of {@code logging}. */
  final ExchangeLogs logs;
  /** This instance's usage records, sent once per event-loop turn; flushed on close. */
  final UsageBatcher usage;
  /** {@code /ready}'s check of this instance's backends. */
  final ReadyCheck readyCheck = new ReadyCheck(this);
  /** {@code fault_injection}: null when nothing is injected. */
  final FaultInjector faults;
  /** The steps of every API exchange, and where their outcomes go; rebuilt once the hooks are loaded. */
  ExchangeChain chain;
  /** {@code caching.response_cache}'s step, or null when the cache is off. */
  final CacheStep cacheStep;
  /** {@code routing.flow_control}'s step, or null when it is off. */
  final FlowControlStep flowControl;
  /** {@code hooks}: none until {@link #loadHooks} has compiled them. */
  LifecycleHooks hooks = LifecycleHooks.NONE;
  final long maxBodySize;
  /** {@code routing} as applied: with {@code enabled: false}, its features off. */
  final RoutingConfig routing;
  /** {@code routing.prefix_aware.prefix_chars} when that is the strategy, else 0: how much of a prompt to hash. */
  final int prefixChars;
  private final EngineMetricsScraper engineScraper;
  /** Configured backends and providers by name and URL: their upstream keys and Azure deployments. */
  private final Map<String, BackendConfig> access = new HashMap<>();
  /** What translations fill in when the client did not ({@code max_tokens} for Anthropic). */
  TranslationDefaults translationDefaults = TranslationDefaults.FIXED;
  private BackendSnapshot snapshot = BackendSnapshot.EMPTY;

  ExchangeContext(Vertx vertx, GatewayConfig config, ProxyEnvironment environment) {
    this.vertx = vertx;
    this.config = config;
    this.environment = environment;
    this.metrics = environment.metrics();
    this.clients = new BackendClients(vertx);
    this.stats = environment.backendStats();
    this.routing = config.routing().inEffect();
    this.router = new Router(routing, stats);
    this.retryPolicy = new RetryPolicy(routing.enabled(), routing.retry());
    this.models = new ModelCatalog(router, clients);
    this.pools = new Pools(vertx, config.storage());
    this.limitPlanner = new LimitPlanner(config.rateLimit());
    this.rateLimiter = !limitPlanner.limitsAnything() ? null
        : environment.rateLimiter(vertx, config.rateLimit(), pools, config.storage());
    this.prefixChars = "prefix_aware".equals(routing.loadBalance()) ? routing.prefixAware().prefixChars() : 0;
    this.engineScraper = "queue_aware".equals(routing.loadBalance()) || prefixChars > 0 || routing.flowControl().enabled()
        ? environment.engineScraper(vertx) : null;
    this.flowControl = routing.flowControl().enabled()
        ? new FlowControlStep(vertx, routing.flowControl(), router, stats, environment.flowMetrics(),
            environment.flowGate()) : null;
    this.auth = new AuthGate(vertx, config.auth(), environment.authCheckAddress(), environment.decisions(),
        environment.quotaTally());
    this.clientAddress = new ClientAddress(IpRanges.parse(config.server().trustedProxies()));
    this.logs = new ExchangeLogs(vertx, config, clientAddress);
    this.tracing = environment.openTelemetry() == null ? null : new ExchangeTracing(environment.openTelemetry());
    this.faults = FaultInjector.of(config.faultInjection());
    this.cacheStep = config.caching().responseCacheOn()
        ? new CacheStep(environment.responseCache(config.caching().responseCache(), pools), config.caching().responseCache())
        : null;
    if (!config.caching().responseCacheOn() || !config.caching().responseCache().inMemory()) {
      environment.noMemoryResponseCache();
    }
    this.usage = new UsageBatcher(vertx, vertx.getOrCreateContext(), environment::usageRoute);
    this.chain = new ExchangeChain(this, hooks);
    this.maxBodySize = config.server().maxBodySize();
    for (BackendConfig backend : config.routedBackends()) {
      access.put(backend.name() + '\n' + backend.url(), backend);
    }
    Set<String> skipped = new HashSet<>(Set.of("host", "content-length", "x-request-id", "x-forwarded-for",
        "x-forwarded-proto"));
    if (config.auth().enabled() && !config.auth().forwardKey()) {
      // The client's key is for the gateway; backend credentials come from backends[].headers.
      skipped.addAll(config.auth().headerNames());
    }
    if (tracing != null) {
      skipped.addAll(ExchangeTracing.PROPAGATION_HEADERS); // the backend gets the gateway's span as its parent
    }
    this.passthroughSkippedHeaders = HopByHop.names(skipped);
    // Compressed answers could not be read for usage.
    skipped.add("accept-encoding");
    this.inferenceSkippedHeaders = HopByHop.names(skipped);
  }

  /** The configured entry of a backend (same name and URL), or null for one a discovery source found. */
  BackendConfig access(Backend backend) {
    return access.isEmpty() ? null : access.get(backend.name() + '\n' + backend.url());
  }

  /** Compiles the lifecycle hooks that are on and puts them in the chain; one that does not load fails the start. */
  Future<Void> loadHooks() {
    return LifecycleHooks.load(vertx, config, metrics).map(loaded -> {
      hooks = loaded;
      chain = new ExchangeChain(this, loaded);
      return null;
    });
  }

  /** Exchanges begun on this context and not yet ended. */
  private int active;
  /** Replaced by a reloaded config: closes when its last exchange ends. */
  private boolean retired;
  private boolean closed;

  void exchangeBegan() {
    active++;
  }

  void exchangeEnded() {
    active--;
    if (flowControl != null) {
      flowControl.exchangeEnded();
    }
    if (retired && active <= 0) {
      close();
    }
  }

  int active() {
    return active;
  }

  /** No new exchange starts here; what this context holds is released once those under way have ended. */
  void retire() {
    retired = true;
    if (active <= 0) {
      close();
    }
  }

  void forgetIdleLimitKeys() {
    if (rateLimiter != null) {
      rateLimiter.forgetIdleKeys();
    }
  }

  /** Releases this context's own connections and consumers (the JVM-wide parts of the environment stay). */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    usage.flush();
    hooks.close();
    readyCheck.close();
    auth.close();
    clients.closeAll();
    pools.close();
  }

  BackendSnapshot snapshot() {
    return snapshot;
  }

  /** Swaps in a newer snapshot; an older one arriving late is ignored. */
  void apply(BackendSnapshot next) {
    if (next.version() < snapshot.version()) {
      return;
    }
    snapshot = next;
    router.update(next);
    clients.retainOnly(next.backends());
    if (engineScraper != null) {
      engineScraper.track(next.backends());
    }
  }
}
