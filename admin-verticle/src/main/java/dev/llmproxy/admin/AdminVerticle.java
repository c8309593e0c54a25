package dev.llmproxy.admin;

import dev.llmproxy.admin.api.AdminApi;
import dev.llmproxy.admin.api.GatewayEndpoints;
import dev.llmproxy.admin.api.KeyEndpoints;
import dev.llmproxy.admin.api.Replies;
import dev.llmproxy.admin.api.UsageEndpoints;
import dev.llmproxy.admin.gateway.RunningConfig;
import dev.llmproxy.admin.keys.KeyGenerator;
import dev.llmproxy.admin.keys.KeySchema;
import dev.llmproxy.admin.keys.KeyStore;
import dev.llmproxy.admin.keys.QuotaLedger;
import dev.llmproxy.admin.usage.UsageSchema;
import dev.llmproxy.admin.usage.UsageStore;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.AdminConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.util.IpRanges;
import io.vertx.core.Future;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.jdbcclient.JDBCConnectOptions;
import io.vertx.jdbcclient.JDBCPool;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API and the builtin store. Deployed for every config; with {@code admin.enabled} false it registers
 * nothing. Enabled, it answers {@link Addresses#ADMIN_HTTP} (the proxy relays {@code /admin/*} there when
 * {@code admin.listen} is empty), {@link Addresses#KEYS_LOOKUP} and {@link Addresses#KEYS_USAGE} (static keys' usage) for the auth verticle, {@link Addresses#USAGE_STORE}
 * and {@link Addresses#KEYS_CHARGE} for the usage verticle, and, when {@code admin.listen} is set, serves the same
 * API on that address. Keys, usage records and charged request ids live in one SQLite file, {@code admin.db_path}.
 * The {@code admin} section itself (token, allowed ips, listen, db path) is read at start only: a reloaded config
 * changes it after a restart.
 */
public final class AdminVerticle extends GatewayVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(AdminVerticle.class);
  /**
   * One connection: SQLite lets one writer in at a time anyway, and a second connection only adds "database is
   * locked" failures between our own statements. Key lookups are cached by the auth verticle, so they are few.
   */
  private static final int POOL_SIZE = 1;

  private Pool pool;

  /**
   * What the launcher knows of its start (the config file, the version) is the JVM's {@link LaunchInfo}, put there
   * before it deploys; without one no config file is known, and {@code POST /admin/config/reload} says it has
   * nothing to reload.
   */
  public AdminVerticle(GatewayConfig config) {
    super(config);
  }

  /** Deployed by class name or from another member: the config is the deployment's canonical JSON. */
  public AdminVerticle() {
    this(null);
  }

  @Override
  protected Future<?> startService() {
    GatewayConfig config = gatewayConfig();
    LaunchInfo launch = jvm().get(LaunchInfo.class).orElse(LaunchInfo.unknown());
    AdminConfig admin = config.admin();
    if (!admin.enabled()) {
      return Future.succeededFuture();
    }
    IpRanges allowed = IpRanges.parse(admin.allowedIps());
    return vertx.executeBlocking(() -> Files.createDirectories(parentOf(admin.dbPath())))
        .compose(dir -> {
          pool = openPool(admin.dbPath());
          onRelease(() -> pool.close());
          return KeySchema.prepare(pool);
        })
        .compose(v -> UsageSchema.prepare(pool))
        .compose(v -> QuotaLedger.prepare(pool))
        .compose(ready -> {
          KeyStore keys = new KeyStore(pool);
          QuotaLedger ledger = new QuotaLedger(pool);
          UsageStore usage = new UsageStore(pool);
          RunningConfig running = new RunningConfig(vertx, config, launch.configPath());
          running.follow();
          Map<String, AdminApi.Route> routes = new LinkedHashMap<>();
          routes.putAll(new KeyEndpoints(keys, new KeyGenerator(), vertx.eventBus()).routes());
          routes.putAll(new UsageEndpoints(usage).routes());
          routes.putAll(new GatewayEndpoints(vertx, running, launch.version(),
              Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime())).routes());
          AdminApi api = new AdminApi(admin.token(), allowed, routes);
          this.<JsonObject>consumer(Addresses.ADMIN_HTTP, message -> relay(api, message));
          return new StoreConsumers(vertx.eventBus(), keys, ledger, usage).register()
              .compose(v -> new Housekeeping(vertx, ledger, usage, () -> retentionDays(running.current())).start())
              .compose(v -> {
                if (admin.listen().isEmpty()) {
                  return Future.succeededFuture();
                }
                return new AdminHttpServer(vertx, api).listen(admin.listen())
                    .onSuccess(server -> LOG.info("admin API listening on {}", admin.listen()));
              });
        });
  }

  /** {@code retention_days} of the first enabled builtin reporter; 0 (forever) when there is none. */
  static int retentionDays(GatewayConfig config) {
    return config.usage().reporters().stream()
        .filter(r -> r.enabled() && "builtin".equals(r.type()))
        .mapToInt(r -> r.builtin().retentionDays())
        .findFirst().orElse(0);
  }

  private static Path parentOf(String dbPath) {
    Path parent = Path.of(dbPath).toAbsolutePath().getParent();
    return parent == null ? Path.of(".") : parent;
  }

  private Pool openPool(String dbPath) {
    // WAL lets readers go on while a key is written; busy_timeout makes a second writer wait instead of failing
    String url = "jdbc:sqlite:" + dbPath + "?journal_mode=WAL&busy_timeout=5000";
    return JDBCPool.pool(vertx, new JDBCConnectOptions().setJdbcUrl(url),
        new PoolOptions().setMaxSize(POOL_SIZE).setName("llmproxy-admin-keys"));
  }

  private static void relay(AdminApi api, Message<JsonObject> message) {
    AdminCall.Request request;
    try {
      request = AdminCall.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      message.reply(Replies.error(400, "malformed admin call").toJson());
      return;
    }
    api.handle(request).onSuccess(response -> message.reply(response.toJson()));
  }
}
