package dev.llmproxy.discovery;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.DiscoveryConfig;
import dev.llmproxy.common.config.DiscoverySourceConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.discovery.health.HealthChecker;
import dev.llmproxy.discovery.registry.ServiceRecords;
import dev.llmproxy.discovery.source.BackendEntries;
import dev.llmproxy.discovery.source.DiscoverySource;
import dev.llmproxy.discovery.source.KubernetesSource;
import dev.llmproxy.discovery.source.SourceFeed;
import dev.llmproxy.discovery.source.Sources;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.atomic.AtomicLong;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import dev.llmproxy.common.verticle.GatewayVerticle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns the backend set: the static {@code backends[]} always, plus the lists of {@code discovery.sources[]}
 * (when {@code discovery.enabled}) combined by {@code mode} ({@code merge}: all of them, {@code first}: the first
 * source with a non-empty list), a backend URL counted once. Active health checks ({@code health_check}) add each
 * backend's health. Every change publishes one complete {@link BackendSnapshot} on
 * {@link Addresses#BACKENDS_SNAPSHOT}; a proxy that starts asks {@link Addresses#BACKENDS_CURRENT}. The start
 * completes after each source's first attempt and each backend's first health check, so the first snapshot
 * already says which backends answer. The set is mirrored into vertx-service-discovery ({@link ServiceRecords}).
 *
 * <p>Per-backend health reaches {@code /metrics} through the proxy's {@code llmproxy_backend_up{backend}} gauge, which
 * reads the snapshot's health (and the proxy's own ejections); this verticle exports
 * {@code llmproxy_discovery_errors_total{source}}.
 */
public final class DiscoveryVerticle extends GatewayVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(DiscoveryVerticle.class);
  /** A source that takes longer than this to answer at start is followed on, but not waited for. */
  private static final long FIRST_ATTEMPT_WAIT_MS = 10_000;

  private MeterRegistry meters;
  private final String serviceAccount;
  private final List<SourceFeed> feeds = new ArrayList<>();
  private final Map<SourceFeed, DiscoverySource> sources = new LinkedHashMap<>();
  private BackendSnapshot current;
  private SnapshotNumbering numbering;
  /** False until this instance has published its first snapshot (which it always does, even an empty one). */
  private boolean published;
  private BackendEntries entries;
  private Pools pools;
  private LuaSandbox sandbox;
  private HealthChecker health;
  private ServiceRecords records;
  private boolean started;
  private boolean updating;
  private boolean pending;

  /** Its metrics go to the JVM's meter registry ({@link #jvm()}), taken at start. */
  public DiscoveryVerticle(GatewayConfig config) {
    this(config, KubernetesSource.SERVICE_ACCOUNT);
  }

  /** Deployed by class name: the config is the deployment's canonical JSON. */
  public DiscoveryVerticle() {
    this(null);
  }

  /** @param serviceAccount where a pod's Kubernetes service account is mounted (tests point elsewhere) */
  public DiscoveryVerticle(GatewayConfig config, String serviceAccount) {
    super(config);
    this.serviceAccount = serviceAccount;
  }

  /**
   * The last snapshot version of the discovery verticles of one Vert.x instance. Proxies ignore a snapshot older than
   * the one they have: a discovery verticle that replaces another (a config reload) continues its numbering; the
   * first one of a cluster member starts from the clock, so that its snapshots are newer than those of a discovery
   * member that ran before it (the proxies of other members keep theirs meanwhile).
   */
  static final class SnapshotNumbering {
    private final AtomicLong last;

    SnapshotNumbering(long first) {
      this.last = new AtomicLong(first);
    }
  }

  @Override
  protected Future<?> startService() {
    GatewayConfig config = gatewayConfig();
    meters = jvm().computeIfAbsent(MeterRegistry.class, SimpleMeterRegistry::new);
    numbering = jvm().computeIfAbsent(SnapshotNumbering.class,
        () -> new SnapshotNumbering(vertx.isClustered() ? System.currentTimeMillis() : 0));
    current = new BackendSnapshot(numbering.last.get(), List.of());
    entries = new BackendEntries(config.routing());
    pools = new Pools(vertx, config.storage());
    onRelease(() -> pools.close());
    sandbox = new LuaSandbox();
    records = new ServiceRecords(vertx);
    onRelease(this::stopFollowing);
    consumer(Addresses.BACKENDS_CURRENT, message -> message.reply(current.toJson()));
    return healthChecker()
        .compose(v -> createSources())
        .compose(v -> firstAttempts())
        .compose(v -> {
          started = true;
          if (health != null) {
            health.start();
          }
          return update();
        });
  }

  private Future<Void> healthChecker() {
    GatewayConfig config = gatewayConfig();
    if (!config.healthCheck().enabled()) {
      return Future.succeededFuture();
    }
    return script(config.healthCheck().script(), "health_check.script")
        .map(script -> {
          health = new HealthChecker(vertx, config.healthCheck(), script, sandbox, this::changed);
          return null;
        });
  }

  private Future<Void> createSources() {
    DiscoveryConfig discovery = gatewayConfig().discovery();
    if (!discovery.enabled()) {
      return Future.succeededFuture();
    }
    Future<Void> chain = Future.succeededFuture();
    for (int i = 0; i < discovery.sources().size(); i++) {
      DiscoverySourceConfig source = discovery.sources().get(i);
      if (!source.enabled()) {
        continue;
      }
      String name = source.name().isEmpty() ? source.type() + "#" + i : source.name();
      chain = chain.compose(v -> script(source.script(), "discovery.sources[" + name + "].script"))
          .map(script -> {
            SourceFeed feed = new SourceFeed(name, script, sandbox, meters, this::changed);
            feeds.add(feed);
            sources.put(feed, Sources.create(vertx, discovery, source, pools, entries, serviceAccount));
            return null;
          });
    }
    return chain;
  }

  /** A compiled script, or null when the block is off or empty. */
  private Future<LuaScript> script(ScriptConfig script, String owner) {
    if (!script.enabled() || !script.hasSource()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, script, owner);
  }

  private Future<Void> firstAttempts() {
    List<Future<Void>> attempts = new ArrayList<>();
    sources.forEach((feed, source) -> attempts.add(source.start(feed)));
    Promise<Void> done = Promise.promise();
    long timer = vertx.setTimer(FIRST_ATTEMPT_WAIT_MS, id -> {
      if (done.tryComplete()) {
        LOG.warn("discovery: some sources had not answered after {} ms; starting without them", FIRST_ATTEMPT_WAIT_MS);
      }
    });
    Future.join(attempts).onComplete(v -> {
      vertx.cancelTimer(timer);
      done.tryComplete();
    });
    return done.future();
  }

  /** A source list or a backend's health changed: recompute; changes during a recompute run it again after. */
  private void changed() {
    if (!started) {
      return;
    }
    if (updating) {
      pending = true;
      return;
    }
    update();
  }

  private Future<Void> update() {
    updating = true;
    List<Backend> combined = combine();
    Future<Void> checked = health == null ? Future.succeededFuture() : health.track(combined);
    return checked.map(v -> {
      publishIfChanged(withHealth(combined));
      return (Void) null;
    }).onComplete(v -> {
      updating = false;
      if (pending) {
        pending = false;
        update();
      }
    });
  }

  /** Static backends first, then the sources by mode; a URL that appears again is skipped. */
  private List<Backend> combine() {
    GatewayConfig config = gatewayConfig();
    Map<String, Backend> byUrl = new LinkedHashMap<>();
    for (BackendConfig backend : config.routedBackends()) {
      Backend b = Backend.of(backend, config.routing(), true); // validated with the config
      byUrl.putIfAbsent(b.url(), b);
    }
    boolean first = "first".equals(config.discovery().mode());
    for (SourceFeed feed : feeds) {
      List<Backend> list = feed.backends();
      if (first && list.isEmpty()) {
        continue;
      }
      list.forEach(b -> byUrl.putIfAbsent(b.url(), b));
      if (first) {
        break;
      }
    }
    return new ArrayList<>(byUrl.values());
  }

  private List<Backend> withHealth(List<Backend> backends) {
    if (health == null) {
      return backends;
    }
    List<Backend> out = new ArrayList<>(backends.size());
    for (Backend b : backends) {
      boolean healthy = b.healthy() && health.healthy(b.url());
      out.add(healthy == b.healthy() ? b : b.withHealthy(false));
    }
    return out;
  }

  private void publishIfChanged(List<Backend> backends) {
    if (published && backends.equals(current.backends())) {
      return;
    }
    published = true;
    current = new BackendSnapshot(current.version() + 1, backends);
    numbering.last.accumulateAndGet(current.version(), Math::max);
    vertx.eventBus().publish(Addresses.BACKENDS_SNAPSHOT, current.toJson());
    records.mirror(backends);
    long healthy = backends.stream().filter(Backend::usable).count();
    LOG.info("backend snapshot v{}: {} backend(s), {} usable", current.version(), backends.size(), healthy);
  }

  /** On stop, and after a failed start: the sources and health checks stop, before the pools they use close. */
  private Future<?> stopFollowing() {
    List<Future<?>> stopping = new ArrayList<>();
    sources.values().forEach(source -> stopping.add(source.stop()));
    if (health != null) {
      stopping.add(health.stop());
    }
    stopping.add(records.close());
    return Future.join(stopping);
  }
}
