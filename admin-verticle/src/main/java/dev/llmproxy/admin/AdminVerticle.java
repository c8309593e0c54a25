package dev.llmproxy.admin;

import dev.llmproxy.admin.api.AdminApi;
import dev.llmproxy.admin.api.Replies;
import dev.llmproxy.admin.keys.KeyGenerator;
import dev.llmproxy.admin.keys.KeySchema;
import dev.llmproxy.admin.keys.KeyStore;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.AdminConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.util.IpRanges;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.jdbcclient.JDBCConnectOptions;
import io.vertx.jdbcclient.JDBCPool;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API and the builtin key store. Deployed for every config; with {@code admin.enabled} false it
 * registers nothing. Enabled, it answers {@link Addresses#ADMIN_HTTP} (the proxy relays {@code /admin/*} there
 * when {@code admin.listen} is empty), {@link Addresses#KEYS_LOOKUP} for the auth verticle, and, when
 * {@code admin.listen} is set, serves the same API on that address.
 */
public final class AdminVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AdminVerticle.class);
  /**
   * One connection: SQLite lets one writer in at a time anyway, and a second connection only adds "database is
   * locked" failures between our own statements. Key lookups are cached by the auth verticle, so they are few.
   */
  private static final int POOL_SIZE = 1;

  private final GatewayConfig config;
  private Pool pool;

  public AdminVerticle(GatewayConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    AdminConfig admin = config.admin();
    if (!admin.enabled()) {
      return Future.succeededFuture();
    }
    IpRanges allowed = IpRanges.parse(admin.allowedIps());
    return vertx.executeBlocking(() -> Files.createDirectories(parentOf(admin.dbPath())))
        .compose(dir -> {
          pool = openPool(admin.dbPath());
          return KeySchema.prepare(pool);
        })
        .compose(ready -> {
          KeyStore store = new KeyStore(pool);
          AdminApi api = new AdminApi(admin.token(), allowed, store, new KeyGenerator(), vertx.eventBus());
          vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_LOOKUP, message -> lookup(store, message));
          vertx.eventBus().<JsonObject>consumer(Addresses.ADMIN_HTTP, message -> relay(api, message));
          if (admin.listen().isEmpty()) {
            return Future.succeededFuture();
          }
          return new AdminHttpServer(vertx, api).listen(admin.listen())
              .onSuccess(server -> LOG.info("admin API listening on {}", admin.listen()));
        });
  }

  @Override
  public Future<?> stop() {
    return pool == null ? Future.succeededFuture() : pool.close();
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

  /** A null reply is "no such key"; a failure reply is "the store could not tell". */
  private static void lookup(KeyStore store, Message<JsonObject> message) {
    String hash = message.body() == null ? null : message.body().getString(KeyLookup.KEY_HASH);
    if (hash == null || hash.isEmpty()) {
      message.fail(400, "key_hash is required");
      return;
    }
    store.find(hash.toLowerCase()).onComplete(found -> {
      if (found.succeeded()) {
        message.reply(found.result().orElse(null));
      } else {
        LOG.error("keys.lookup failed", found.cause());
        message.fail(500, "key store failed");
      }
    });
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
