package dev.llmproxy.launcher;

import dev.llmproxy.admin.AdminVerticle;
import dev.llmproxy.admin.LaunchInfo;
import dev.llmproxy.auth.AuthVerticle;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.ClusterConfig;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.config.MetricsConfig;
import dev.llmproxy.common.verticle.GatewayVerticle;
import dev.llmproxy.common.verticle.JvmResources;
import io.micrometer.core.instrument.MeterRegistry;
import dev.llmproxy.discovery.DiscoveryVerticle;
import dev.llmproxy.launcher.reload.ClusterReload;
import dev.llmproxy.launcher.reload.ConfigWatcher;
import dev.llmproxy.launcher.reload.ReloadPlan;
import dev.llmproxy.proxy.ProxyEnvironment;
import dev.llmproxy.proxy.ProxyVerticle;
import dev.llmproxy.proxy.ProxyWarmup;
import dev.llmproxy.usage.UsageHandoverVerticle;
import dev.llmproxy.usage.UsageVerticle;
import dev.llmproxy.usage.requestlog.RequestLogVerticle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import dev.llmproxy.common.config.TracingConfig;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.shareddata.Lock;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongUnaryOperator;
import java.util.function.Supplier;

/**
 * Every verticle of the gateway deployed in one JVM, in dependency order, and undeployed in reverse:
 * the proxy first (it drains its requests and streams), the usage verticle last (it receives their records).
 *
 * <p>It also applies a reloaded config ({@link #reload}), all or nothing: the proxy instances prepare a new request
 * context beside the running one, a new auth verticle starts beside the old, discovery, usage and the request log
 * are replaced (their messages held and handed over meanwhile); only when every part is ready do the proxies switch
 * and the old auth verticle leave. A part that fails puts back what had been replaced, and nothing has changed.
 *
 * <p>A reload asked for here (SIGHUP, {@code POST /admin/config/reload}) is read and validated here, then applied by
 * every member of the cluster ({@link ClusterReload}, {@link Addresses#CONFIG_CHANGED}): each member's gateway
 * applies it to the verticles of its roles, and goes back to what it ran before when another member failed.
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  /** The order of deployment; undeployment runs it backwards. Each belongs to one of {@code cluster.roles}. */
  private enum Role {
    USAGE(ClusterConfig.USAGE), USAGE_HANDOVER(ClusterConfig.PROXY), REQUEST_LOG(ClusterConfig.USAGE),
    ADMIN(ClusterConfig.ADMIN),
    AUTH(ClusterConfig.AUTH), DISCOVERY(ClusterConfig.DISCOVERY), PROXY(ClusterConfig.PROXY);

    final String clusterRole;

    Role(String clusterRole) {
      this.clusterRole = clusterRole;
    }
  }

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final ProxyEnvironment environment;
  private final LaunchInfo launch;
  private final Map<Role, String> deployments = Collections.synchronizedMap(new EnumMap<>(Role.class));
  private final List<ProxyVerticle> proxies = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong version = new AtomicLong(1);
  private volatile GatewayConfig config;
  private Future<?> reloading = Future.succeededFuture();
  /** Where verticles are deployed from: an event-loop context that belongs to no deployment. */
  private final ContextInternal deployContext;
  private volatile Consumer<GatewayConfig> logSetup = c -> { };
  private MessageConsumer<JsonObject> applyRequests;
  private MessageConsumer<JsonObject> memberInfo;
  private MessageConsumer<JsonObject> configChanges;
  private final ClusterReload coordinator;
  /** The last reload of a coordinator that this member applied, and what it ran before, to go back to on failure. */
  private record Applied(String reloadId, GatewayConfig previous, long previousVersion) {
  }

  private volatile Applied lastApplied;
  private ConfigWatcher watcher;
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true);
  /** The environment the config was read with (the process's, plus the command line's overrides). */
  private final Map<String, String> launchEnv;

  private Gateway(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry, LaunchInfo launch,
      Map<String, String> launchEnv) {
    this.vertx = vertx;
    this.config = config;
    this.registry = registry;
    this.launch = launch;
    this.launchEnv = launchEnv;
    this.deployContext = ((VertxInternal) vertx).createEventLoopContext();
    this.environment = new ProxyEnvironment(registry, config.metrics());
    // What the verticles of this JVM share, taken by each at its start: none is handed an object by its constructor.
    JvmResources.of(vertx).put(MeterRegistry.class, registry).put(LaunchInfo.class, launch);
    environment.register(vertx);
    this.coordinator = new ClusterReload(vertx, this::memberIds);
    environment.openTelemetry(Tracing.of(vertx));
    if (runsHere(Role.AUTH)) {
      environment.authCheckAddress(Addresses.AUTH_CHECK_LOCAL);
    }
    if (UsageHandoverVerticle.runsOn(config)) {
      environment.handOverUsage();
    }
    if (!config.cluster().enabled() && !UsageVerticle.keepsRecords(config)) {
      // In a cluster another member's usage verticle may read them: only a gateway alone knows nobody does.
      environment.noUsageRecords();
    }
    Gauge.builder("llmproxy_config_version", version, AtomicLong::get)
        .description("The version of the config this gateway runs: 1 at start, one more for each reload applied")
        .register(registry);
    reloads("applied");
    reloads("failed");
    reloads("invalid");
    reloads("rolled_back");
  }

  /** Vert.x's meters that cost something on every request; {@code metrics.vertx_http} turns them on. */
  private static final Set<String> PER_REQUEST_METRICS = Set.of(MetricsDomain.HTTP_SERVER.toCategory(),
      MetricsDomain.HTTP_CLIENT.toCategory(), MetricsDomain.NET_SERVER.toCategory(), MetricsDomain.NET_CLIENT.toCategory(),
      MetricsDomain.EVENT_BUS.toCategory());

  /** A Vert.x instance sized for the gateway: one event loop per core, metrics into {@code registry}. */
  public static Vertx createVertx(PrometheusMeterRegistry registry, MetricsConfig metrics) {
    return createVertx(registry, metrics, null);
  }

  /** The same, with the OpenTelemetry tracer {@code tracing} asks for (none when it is off or null). */
  public static Vertx createVertx(PrometheusMeterRegistry registry, MetricsConfig metrics, TracingConfig tracing) {
    OpenTelemetrySdk sdk = Tracing.sdk(tracing);
    VertxOptions options = new VertxOptions();
    return Tracing.attach(Tracing.install(builder(options, registry, metrics), options, sdk).build(), sdk);
  }

  /**
   * The same, as a member of the cluster {@code cluster} describes (Hazelcast, TCP/IP join); completes once it has
   * joined.
   */
  public static Future<Vertx> createClusteredVertx(PrometheusMeterRegistry registry, MetricsConfig metrics,
      ClusterConfig cluster) {
    return createClusteredVertx(registry, metrics, cluster, null);
  }

  public static Future<Vertx> createClusteredVertx(PrometheusMeterRegistry registry, MetricsConfig metrics,
      ClusterConfig cluster, TracingConfig tracing) {
    OpenTelemetrySdk sdk = Tracing.sdk(tracing);
    VertxOptions options = ClusterSetup.withEventBus(new VertxOptions(), cluster);
    return Tracing.install(builder(options, registry, metrics), options, sdk)
        .withClusterManager(ClusterSetup.clusterManager(cluster))
        .buildClustered()
        .map(vertx -> Tracing.attach(vertx, sdk));
  }

  private static VertxBuilder builder(VertxOptions options, PrometheusMeterRegistry registry, MetricsConfig metrics) {
    options.setEventLoopPoolSize(eventLoops());
    // Netty's epoll transport where it loads (Linux x86_64 and aarch64; elsewhere Vert.x falls back to NIO): fewer
    // system calls and less garbage per request than NIO's selector. -Dllmproxy.native-transport=false turns it off.
    options.setPreferNativeTransport(nativeTransport());
    if (!metrics.enabled()) {
      return Vertx.builder().with(options);
    }
    options.setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
        .setDisabledMetricsCategories(metrics.vertxHttp() ? Set.of() : PER_REQUEST_METRICS));
    return Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry));
  }

  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  static boolean nativeTransport() {
    return Boolean.parseBoolean(System.getProperty("llmproxy.native-transport", "true"));
  }

  static int eventLoops() {
    return Integer.getInteger("llmproxy.event-loops", Runtime.getRuntime().availableProcessors());
  }

  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry) {
    return start(vertx, config, registry, null);
  }

  /** @param configPath the file {@code config} was read from, reread by {@code POST /admin/config/reload}; may be null */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry,
      String configPath) {
    return start(vertx, config, registry, configPath, System.getenv());
  }

  /**
   * Deploys the verticles of this member's roles ({@code cluster.roles}; every verticle when not clustered).
   *
   * @param launchEnv the environment {@code config} was read with, used again to reread it on a reload
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry,
      String configPath, Map<String, String> launchEnv) {
    Gateway gateway = new Gateway(vertx, config, registry, new LaunchInfo(configPath, Version.get()), launchEnv);
    boolean proxy = gateway.runsHere(Role.PROXY);
    return gateway.deploy(Role.USAGE, config)
        .compose(v -> gateway.deploy(Role.USAGE_HANDOVER, config))
        .compose(v -> gateway.deploy(Role.REQUEST_LOG, config))
        .compose(v -> gateway.deploy(Role.ADMIN, config))
        .compose(v -> gateway.deploy(Role.AUTH, config))
        .compose(v -> gateway.deploy(Role.DISCOVERY, config))
        .compose(v -> gateway.deploy(Role.PROXY, config))
        .compose(v -> proxy ? ProxyWarmup.run(vertx, config).mapEmpty() : Future.succeededFuture())
        .compose(v -> gateway.followApplyRequests())
        .compose(v -> gateway.followReloads())
        .onSuccess(v -> gateway.watchFile())
        .compose(v -> gateway.answerMemberInfo())
        .map(v -> {
          gateway.environment.markStarted();
          if (vertx.isClustered()) {
            LOG.info("cluster member {} ({}:{}, cluster \"{}\") runs {}", gateway.nodeId(), config.cluster().host(),
                config.cluster().port(), config.cluster().name(), config.cluster().roles());
          }
          if (proxy) {
            ListenAddress listen = ListenAddress.of(config.server());
            LOG.info("LLMProxy listening on {} with {} backend(s)", listen.describe(config.server().listen()),
                config.routedBackends().size());
            if (nativeTransport() && !vertx.isNativeTransportEnabled()) {
              LOG.info("network transport: Java NIO (the native epoll transport is not available here: {})",
                  String.valueOf(vertx.unavailableNativeTransportCause()));
            }
            if (listen.allInterfaces() && !config.auth().enabled()) {
              LOG.warn("*** {} ***", openWarning(config));
            }
          }
          return gateway;
        });
  }

  /** Said at start and by {@code validate} when anyone who reaches the port may use the backends. */
  static String openWarning(GatewayConfig config) {
    int port = config.server().port();
    return "OPEN GATEWAY: listening on all interfaces (" + config.server().listen() + ") with auth off: anyone who "
        + "can reach port " + port + " can use your backends. Set server.listen: \"127.0.0.1:" + port
        + "\" for this machine only, or auth.enabled: true with keys";
  }

  /** Whether this JVM runs {@code role}'s verticle: every one when not clustered, else those of cluster.roles. */
  private boolean runsHere(Role role) {
    return config.cluster().runs(role.clusterRole);
  }

  private String nodeId() {
    return vertx instanceof VertxInternal internal && internal.clusterManager() != null
        ? internal.clusterManager().getNodeId() : "local";
  }

  /** {@code /admin/status} of any member asks each member what it runs ({@link Addresses#MEMBER_INFO_PREFIX}). */
  private Future<Void> answerMemberInfo() {
    if (!vertx.isClustered()) {
      return Future.succeededFuture();
    }
    memberInfo = vertx.eventBus().consumer(Addresses.MEMBER_INFO_PREFIX + nodeId(),
        message -> message.reply(new JsonObject().put("node_id", nodeId())
            .put("host", config.cluster().host()).put("port", config.cluster().port())
            .put("roles", new JsonArray(config.cluster().roles())).put("config_version", version.get())));
    return memberInfo.completion();
  }

  /** {@code reload.watch}: a changed file is reloaded as SIGHUP reloads it. */
  private void watchFile() {
    if (config.reload().watch() && launch.configPath() != null) {
      watcher = ConfigWatcher.start(vertx, launch.configPath(), config.reload().scanPeriod(),
          () -> reloadAndLog("config file change"));
      LOG.info("watching {} for changes every {} ms", launch.configPath(), config.reload().scanPeriod().toMillis());
    }
  }

  /** The reload of a signal or of the file watcher: its outcome goes to the log. */
  public Future<JsonObject> reloadAndLog(String trigger) {
    LOG.info("{}: reloading {}", trigger, launch.configPath());
    return reloadFile().onComplete(done -> {
      if (done.failed()) {
        LOG.error("{} reload failed: {}", trigger, done.cause().getMessage());
      } else if (!done.result().getBoolean("ok")) {
        LOG.error("{} reload not applied, the running config stays: {}", trigger, done.result().encode());
      } else {
        LOG.info("{} reload applied: {}", trigger, done.result().encode());
      }
    });
  }

  /** The node ids of the cluster's members now; "local" alone when not clustered. */
  private Collection<String> memberIds() {
    return vertx instanceof VertxInternal internal && internal.clusterManager() != null
        ? internal.clusterManager().getNodes() : List.of(nodeId());
  }

  /** What applies {@code log} and {@code logging} to the process's logging on a reload ({@code Main} sets Logback's). */
  public void onLogChange(Consumer<GatewayConfig> setup) {
    this.logSetup = setup;
  }

  /** The config that runs now (the file's, but for fields that wait for a restart). */
  public GatewayConfig config() {
    return config;
  }

  public long version() {
    return version.get();
  }

  /** {@code POST /admin/config/reload} (through the admin verticle) asks here: the same as SIGHUP. */
  private Future<Void> followApplyRequests() {
    applyRequests = vertx.eventBus().localConsumer(Addresses.CONFIG_APPLY,
        message -> reloadFile().onComplete(done -> message.reply(done.succeeded() ? done.result()
            : outcome(false, List.of(), List.of(), List.of()).put("error", String.valueOf(done.cause().getMessage())))));
    return applyRequests.completion();
  }

  /** The lock that orders reloads over the whole cluster (Vert.x shared data; in one JVM a local lock). */
  static final String RELOAD_LOCK = "llmproxy.config.reload";
  /** The outcome's {@code error_code} of a reload refused because another one held the lock too long. */
  public static final String RELOAD_IN_PROGRESS = "reload_in_progress";

  /**
   * Reads the file the gateway started from again (with the environment as it is now), validates it whole, and
   * applies it when it has no error. An invalid file changes nothing: the outcome lists its errors by path.
   *
   * <p>One reload at a time in the whole cluster: this member takes {@link #RELOAD_LOCK} before it reads the file and
   * keeps it until every member has answered, so that a reload asked for on another member meanwhile runs after this
   * one (and reads the file as it is then). It waits for the lock up to {@code reload.lock_timeout}, then gives up:
   * the outcome says {@code reload_in_progress} and nothing changes.
   */
  public Future<JsonObject> reloadFile() {
    String path = launch.configPath();
    if (path == null) {
      return Future.succeededFuture(outcome(false, List.of(), List.of(), List.of())
          .put("error", "the gateway was not started from a config file; nothing to reload"));
    }
    long waitMs = config.reload().lockTimeout().toMillis();
    // Vert.x wants a positive wait; 0s means: do not queue behind a reload under way.
    return vertx.sharedData().getLockWithTimeout(RELOAD_LOCK, Math.max(1, waitMs)).transform(locked -> {
      if (locked.failed()) {
        LOG.warn("config reload refused: another reload is under way and did not end within reload.lock_timeout"
            + " ({} ms)", waitMs);
        return Future.succeededFuture(outcome(false, List.of(), List.of(), List.of())
            .put("error", "another config reload is under way (on this or another member) and did not end within "
                + "reload.lock_timeout (" + waitMs + " ms); nothing changed, try again")
            .put("error_code", RELOAD_IN_PROGRESS));
      }
      Lock lock = locked.result();
      LOG.info("config reload: this member holds the cluster's reload lock; reloads asked for elsewhere wait");
      return readAndApply(path).onComplete(done -> lock.release());
    });
  }

  private Future<JsonObject> readAndApply(String path) {
    return ConfigLoader.load(vertx, path, launchEnv).compose(loaded -> {
      JsonArray warnings = new JsonArray(loaded.warnings());
      if (!loaded.ok()) {
        reloads("invalid").increment();
        LOG.warn("config reload from {} refused, the running config stays (version {}): {}", path, version.get(),
            String.join("; ", loaded.errors()));
        return Future.succeededFuture(outcome(false, List.of(), List.of(), List.of())
            .put("error", "invalid config").put("errors", new JsonArray(loaded.errors())).put("warnings", warnings));
      }
      return coordinator.reload(loaded.config(), version.get() + 1).map(done -> done.put("warnings", warnings));
    });
  }

  // ---- deployment ----------------------------------------------------------------------------

  private Future<Void> deploy(Role role, GatewayConfig with) {
    if (!runsHere(role)) {
      return Future.succeededFuture();
    }
    Supplier<Deployable> supplier;
    int instances = 1;
    switch (role) {
      case USAGE -> supplier = () -> new UsageVerticle(with);
      case USAGE_HANDOVER -> {
        if (!UsageHandoverVerticle.runsOn(with)) {
          return Future.succeededFuture();
        }
        supplier = () -> new UsageHandoverVerticle(with);
      }
      case REQUEST_LOG -> {
        if (!(with.logging().enabled() && with.logging().request().enabled())) {
          return Future.succeededFuture();
        }
        supplier = () -> new RequestLogVerticle(with);
      }
      case ADMIN -> supplier = () -> new AdminVerticle(with);
      case AUTH -> supplier = () -> new AuthVerticle(with);
      case DISCOVERY -> supplier = () -> new DiscoveryVerticle(with);
      case PROXY -> {
        instances = eventLoops();
        supplier = () -> {
          ProxyVerticle proxy = new ProxyVerticle(with);
          proxies.add(proxy);
          return proxy;
        };
      }
      default -> throw new IllegalStateException(role.name());
    }
    int count = instances;
    DeploymentOptions options = new DeploymentOptions().setInstances(instances);
    // Deployed from a context of no verticle's: from a verticle's context (a reload continues on a proxy's event
    // loop) the new verticle would become that verticle's child and be undeployed with it, out of order.
    Promise<String> deployed = Promise.promise();
    deployContext.runOnContext(v -> vertx.deployVerticle(supplier, options).onComplete(deployed));
    return deployed.future()
        .map(id -> {
          deployments.put(role, id);
          LOG.info("deployed {} verticle ({} instance{}, {})", name(role), count, count == 1 ? "" : "s", id);
          return null;
        });
  }

  private Future<Void> undeploy(Role role) {
    String id = deployments.remove(role);
    if (id == null) {
      return Future.succeededFuture();
    }
    return vertx.undeploy(id).otherwise(failure -> {
      LOG.warn("undeploying {} ({}) failed: {}", name(role), id, failure.getMessage());
      return null;
    });
  }

  private static String name(Role role) {
    return role.name().toLowerCase().replace('_', '-');
  }

  /** Stops taking requests, lets those in flight finish up to {@code server.shutdown_timeout}, then undeploys the rest. */
  public Future<Void> stop() {
    environment.markDraining();
    if (watcher != null) {
      watcher.stop();
    }
    Future<Void> chain = applyRequests == null ? Future.succeededFuture() : applyRequests.unregister();
    if (configChanges != null) {
      chain = chain.eventually(() -> configChanges.unregister());
    }
    if (memberInfo != null) {
      chain = chain.eventually(() -> memberInfo.unregister());
    }
    Role[] roles = Role.values();
    for (int i = roles.length - 1; i >= 0; i--) {
      Role role = roles[i];
      chain = chain.eventually(() -> undeploy(role));
    }
    return chain;
  }

  public ProxyEnvironment environment() {
    return environment;
  }

  // ---- reload --------------------------------------------------------------------------------

  /**
   * Applies {@code next} (already validated) to every verticle of this JVM, one reload at a time. The outcome is
   * {@code {"ok", "version", "changed", "restart_required", "applied"}} and, when not ok, {@code "error"}: then
   * nothing changed.
   */
  public Future<JsonObject> reload(GatewayConfig next) {
    return reload(next, null, 0);
  }

  /**
   * @param reloadId the coordinator's id of this reload, remembered to go back on its request; null for none
   * @param proposed the version the coordinator asks for (this member's own next one if it is already past it)
   */
  private Future<JsonObject> reload(GatewayConfig next, String reloadId, long proposed) {
    return inTurn(() -> {
      GatewayConfig before = config;
      long versionBefore = version.get();
      return apply(next, v -> Math.max(v + 1, proposed)).onSuccess(done -> {
        if (reloadId != null && done.getBoolean("ok") && version.get() != versionBefore) {
          lastApplied = new Applied(reloadId, before, versionBefore);
        }
      });
    }).onComplete(done -> {
      boolean ok = done.succeeded() && done.result().getBoolean("ok");
      reloads(ok ? "applied" : "failed").increment();
    });
  }

  /** Runs {@code step} after every reload (or roll-back) asked for before it: one at a time in a JVM. */
  private synchronized Future<JsonObject> inTurn(Supplier<Future<JsonObject>> step) {
    Promise<JsonObject> result = Promise.promise();
    reloading = reloading.eventually(() -> {
      Future<JsonObject> done;
      try {
        done = step.get();
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      return done.onComplete(result);
    });
    return result.future();
  }

  /** Applies a coordinator's phase ({@link Addresses#CONFIG_CHANGED}) and answers it with this member's outcome. */
  private Future<Void> followReloads() {
    configChanges = vertx.eventBus().consumer(Addresses.CONFIG_CHANGED, this::onConfigChanged);
    return configChanges.completion();
  }

  private void onConfigChanged(Message<JsonObject> message) {
    JsonObject body = message.body();
    String reloadId = body.getString("reload_id");
    String replyTo = body.getString("reply_to");
    Future<JsonObject> outcome;
    if ("roll_back".equals(body.getString("phase"))) {
      outcome = rollBack(reloadId);
    } else {
      LoadedConfig mine = ConfigLoader.forMember(body.getJsonObject("config", new JsonObject()), launchEnv);
      outcome = mine.ok() ? reload(mine.config(), reloadId, body.getLong("version", 0L))
          : Future.succeededFuture(outcome(false, List.of(), List.of(), List.of())
              .put("error", "invalid with this member's overrides: " + String.join("; ", mine.errors())));
    }
    outcome.otherwise(failure -> outcome(false, List.of(), List.of(), List.of())
            .put("error", String.valueOf(failure.getMessage())))
        .onSuccess(result -> vertx.eventBus().send(replyTo, new JsonObject().put("reload_id", reloadId)
            .put("node_id", nodeId()).put("roles", new JsonArray(config.cluster().roles())).put("outcome", result)));
  }

  /** Goes back to the config and version this member ran before {@code reloadId}, if it applied that reload. */
  private Future<JsonObject> rollBack(String reloadId) {
    return inTurn(() -> {
      Applied applied = lastApplied;
      if (applied == null || !applied.reloadId().equals(reloadId)) {
        return Future.succeededFuture(outcome(true, List.of(), List.of(), List.of()).put("rolled_back", false));
      }
      lastApplied = null;
      LOG.warn("config reload {} failed on another member: going back to version {}", reloadId,
          applied.previousVersion());
      return apply(applied.previous(), v -> applied.previousVersion()).map(done -> {
        if (done.getBoolean("ok")) {
          reloads("rolled_back").increment();
        }
        return done.put("rolled_back", done.getBoolean("ok"));
      });
    });
  }

  private Counter reloads(String result) {
    return Counter.builder("llmproxy_config_reloads").description("Config reloads asked for, by result")
        .tag("result", result).register(registry);
  }

  /** @param nextVersion the version this member runs once {@code next} is applied, from the running one */
  private Future<JsonObject> apply(GatewayConfig next, LongUnaryOperator nextVersion) {
    ReloadPlan plan = ReloadPlan.between(config, next);
    if (!plan.changesAnything() || plan.onlyRestartFields()) {
      LOG.info("config reload: {}", plan.changesAnything()
          ? "only fields that need a restart changed: " + plan.restartRequired() : "nothing changed");
      return Future.succeededFuture(outcome(true, plan.changedSections(), plan.restartRequired(), List.of()));
    }
    GatewayConfig effective = plan.effective();
    Transaction tx = new Transaction();
    return prepareProxies(plan, effective, tx)
        .compose(v -> takes(plan.auth(), Role.AUTH) ? startNewAuth(effective, tx) : Future.succeededFuture())
        .compose(v -> takes(plan.discovery(), Role.DISCOVERY) ? replaceDiscovery(effective, tx)
            : Future.succeededFuture())
        .compose(v -> commit(plan, effective, tx, nextVersion))
        .recover(failure -> tx.rollBack().transform(rolledBack -> {
          String why = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
          LOG.error("config reload failed, the running config stays (version {}): {}", version.get(), why);
          return Future.succeededFuture(outcome(false, plan.changedSections(), plan.restartRequired(), List.of())
              .put("error", why));
        }));
  }

  /** Whether a verticle the plan changes runs in this JVM (in a cluster, another member's is not ours to apply). */
  private boolean takes(boolean changed, Role role) {
    return changed && runsHere(role);
  }

  /** What has been done so far, and how to undo it; the proxies' prepared contexts are switched on commit only. */
  private static final class Transaction {
    final List<GatewayVerticle.Reconfiguration> swaps = new ArrayList<>();
    final List<Supplier<Future<?>>> undo = new ArrayList<>();
    final List<String> applied = new ArrayList<>();
    String previousAuth;

    Future<Void> rollBack() {
      Future<Void> chain = Future.join(swaps.stream().map(GatewayVerticle.Reconfiguration::abort).toList()).mapEmpty();
      for (int i = undo.size() - 1; i >= 0; i--) {
        Supplier<Future<?>> step = undo.get(i);
        chain = chain.eventually(() -> step.get().otherwise(e -> {
          LOG.error("putting back the previous config failed: {}", e.getMessage());
          return null;
        }));
      }
      return chain;
    }
  }

  private Future<Void> prepareProxies(ReloadPlan plan, GatewayConfig effective, Transaction tx) {
    if (!takes(plan.proxy() || plan.auth(), Role.PROXY)) {
      return Future.succeededFuture();
    }
    List<ProxyVerticle> instances;
    synchronized (proxies) {
      instances = List.copyOf(proxies);
    }
    List<Future<GatewayVerticle.Reconfiguration>> prepared = instances.stream()
        .map(p -> plan.proxy() ? p.reconfigure(effective) : p.forgetDecisions()).toList();
    return Future.join(prepared).transform(done -> {
      prepared.stream().filter(Future::succeeded).forEach(f -> tx.swaps.add(f.result()));
      if (done.failed()) {
        return Future.failedFuture("proxy: " + done.cause().getMessage());
      }
      if (plan.proxy()) {
        tx.applied.add("proxy");
      }
      return Future.succeededFuture();
    });
  }

  /** The new auth verticle answers beside the old one until commit; the old one leaves then. */
  private Future<Void> startNewAuth(GatewayConfig effective, Transaction tx) {
    String previous = deployments.get(Role.AUTH);
    return deploy(Role.AUTH, effective).transform(done -> {
      if (done.failed()) {
        deployments.put(Role.AUTH, previous);
        return Future.failedFuture("auth: " + done.cause().getMessage());
      }
      tx.previousAuth = previous;
      tx.undo.add(() -> undeploy(Role.AUTH).onComplete(v -> deployments.put(Role.AUTH, previous)));
      tx.applied.add("auth");
      return Future.succeededFuture();
    });
  }

  /** Discovery is replaced outright (the proxies keep their last snapshot meanwhile), its numbering continued. */
  private Future<Void> replaceDiscovery(GatewayConfig effective, Transaction tx) {
    GatewayConfig previous = config;
    return replaceDiscoveryWith(effective).transform(done -> {
      if (done.succeeded()) {
        tx.undo.add(() -> replaceDiscoveryWith(previous));
        tx.applied.add("discovery");
        return Future.succeededFuture();
      }
      return replaceDiscoveryWith(previous)
          .transform(back -> Future.failedFuture("discovery: " + done.cause().getMessage()));
    });
  }

  /** The new discovery verticle continues the old one's snapshot numbering (kept in the JVM's resources). */
  private Future<Void> replaceDiscoveryWith(GatewayConfig with) {
    return undeploy(Role.DISCOVERY).compose(v -> deploy(Role.DISCOVERY, with));
  }

  private Future<JsonObject> commit(ReloadPlan plan, GatewayConfig effective, Transaction tx,
      LongUnaryOperator nextVersion) {
    // The old auth verticle leaves first (it answers the checks it has begun), then each proxy instance switches
    // (dropping its cached decisions): from the reply on, no request is judged by the old keys.
    Future<Void> oldAuthGone = tx.previousAuth == null ? Future.succeededFuture()
        : vertx.undeploy(tx.previousAuth).otherwise(e -> null);
    return oldAuthGone
        .compose(v -> Future.join(tx.swaps.stream().map(GatewayVerticle.Reconfiguration::commit).toList()))
        .map(v -> {
          if (plan.auth()) {
            vertx.eventBus().publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.ALL, true));
          }
          if (plan.logs()) {
            logSetup.accept(effective);
            tx.applied.add("log");
          }
          config = effective;
          long now = nextVersion.applyAsLong(version.get());
          version.set(now);
          vertx.eventBus().publish(Addresses.CONFIG_RUNNING,
              new JsonObject().put("version", now).put("config", effective.toJson()), LOCAL);
          LOG.info("config reload applied: version {}, changed {}, applied by {}{}", now, plan.changedSections(),
              tx.applied, plan.restartRequired().isEmpty() ? "" : ", waiting for a restart: " + plan.restartRequired());
          if (effective.faultInjection().active()) {
            // As loud as at start: a reload must never switch chaos on quietly.
            LOG.warn("fault_injection is ON after reload (version {}): faults are injected into live traffic: {}", now,
                effective.faultInjection().describe());
          }
          return outcome(true, plan.changedSections(), plan.restartRequired(), tx.applied);
        });
  }

  private JsonObject outcome(boolean ok, List<String> changed, List<String> restartRequired, List<String> applied) {
    return new JsonObject().put("ok", ok).put("version", version.get()).put("changed", new JsonArray(changed))
        .put("restart_required", new JsonArray(restartRequired)).put("applied", new JsonArray(applied));
  }
}
