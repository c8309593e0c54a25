package dev.llmproxy.auth;

import dev.llmproxy.common.bus.KeyHash;

import dev.llmproxy.auth.provider.Provider;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.AuthConfig;
import dev.llmproxy.common.config.AuthProviderConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@link Addresses#AUTH_CHECK} with an {@link AuthDecision} (as JSON): the key pipeline of {@code auth}
 * with a decision cache in front, dropped by {@link Addresses#KEYS_CHANGED}. Each instance has its own Lua
 * sandbox, storage pools and cache, and runs everything on its event loop.
 */
public final class AuthVerticle extends GatewayVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(AuthVerticle.class);

  private final DecisionCache cache = new DecisionCache();
  private AuthPipeline pipeline;
  private Pools pools;
  private ProviderFactory factory;
  /** Bumped on every invalidation, so that a lookup begun before it does not cache a stale answer after it. */
  private long generation;
  /** Checks received and not yet answered; a stopping instance waits for them (up to a bound). */
  private int checksInFlight;
  private static final long STOP_WAIT_NANOS = 10_000_000_000L;

  public AuthVerticle(GatewayConfig config) {
    super(config);
  }

  /** Deployed by class name or from another member: the config is the deployment's canonical JSON. */
  public AuthVerticle() {
    super(null);
  }

  @Override
  protected Future<?> startService() {
    GatewayConfig config = gatewayConfig();
    AuthConfig auth = config.auth();
    LuaSandbox sandbox = new LuaSandbox();
    pools = new Pools(vertx, config.storage());
    onRelease(() -> pools.close());
    factory = new ProviderFactory(vertx, config, sandbox, pools);
    onRelease(() -> factory.httpClient() == null ? Future.succeededFuture() : factory.httpClient().close());
    List<Future<Provider>> created = new ArrayList<>();
    for (AuthProviderConfig entry : auth.pipeline()) {
      if (entry.enabled()) {
        created.add(factory.create(entry));
      }
    }
    return Future.all(created).compose(done -> {
      List<Provider> providers = new ArrayList<>();
      created.forEach(f -> providers.add(f.result()));
      pipeline = new AuthPipeline(auth, providers, Clock.systemUTC());
      // Checks from any member of a cluster, and from the proxies of this JVM on an address no other member
      // answers (a clustered send would pick any member's auth: the hot path stays in the JVM when it can).
      this.<JsonObject>consumer(Addresses.AUTH_CHECK, this::onCheck);
      this.<JsonObject>localConsumer(Addresses.AUTH_CHECK_LOCAL, this::onCheck);
      this.<JsonObject>consumer(Addresses.KEYS_CHANGED, this::onKeysChanged);
      return Future.succeededFuture();
    });
  }

  /**
   * A replaced auth verticle (config reload) answers the checks it has begun before its stores close, so that no
   * request in flight is refused for the reload.
   */
  @Override
  protected Future<?> stopService() {
    return checksEnded();
  }

  private Future<Void> checksEnded() {
    if (checksInFlight == 0) {
      return Future.succeededFuture();
    }
    Promise<Void> ended = Promise.promise();
    long deadline = System.nanoTime() + STOP_WAIT_NANOS;
    vertx.setPeriodic(10, id -> {
      if (checksInFlight == 0 || System.nanoTime() > deadline) {
        vertx.cancelTimer(id);
        ended.tryComplete();
      }
    });
    return ended.future();
  }

  private void onCheck(Message<JsonObject> message) {
    AuthCheck check;
    try {
      check = AuthCheck.fromJson(message.body());
    } catch (RuntimeException e) {
      message.fail(400, "invalid auth check: " + e.getMessage());
      return;
    }
    checksInFlight++;
    check(check).onComplete(done -> {
      checksInFlight--;
      if (done.succeeded()) {
        message.reply(done.result().toJson());
      } else {
        LOG.error("auth check failed for key {}", Secrets.mask(check.apiKey()), done.cause());
        message.reply(pipeline.decisions().deny(Denial.UNAVAILABLE, null, 0).toJson());
      }
    });
  }

  /** The decision for one request; a cache hit answers without touching any store. */
  Future<AuthDecision> check(AuthCheck check) {
    AuthConfig auth = gatewayConfig().auth();
    if (!auth.enabled()) {
      return Future.succeededFuture(AuthDecision.allowAnonymous());
    }
    if (check.apiKey() == null || check.apiKey().isBlank()) {
      return Future.succeededFuture(pipeline.decisions().deny(Denial.NOT_FOUND, null, 0));
    }
    String keyHash = KeyHash.sha256Hex(check.apiKey());
    String cacheKey = DecisionCache.key(keyHash, check.clientIp());
    if (!pipeline.requestDependent()) {
      AuthDecision cached = cache.get(cacheKey);
      if (cached != null) {
        return Future.succeededFuture(cached);
      }
    }
    long startedIn = generation;
    return pipeline.check(check, keyHash).map(checked -> {
      if (startedIn == generation) {
        cache.put(cacheKey, checked.decision(), checked.cacheTtlMs());
      }
      return checked.decision();
    });
  }

  /** For tests: how many decisions are cached now. */
  long cachedDecisions() {
    return cache.size();
  }

  private void onKeysChanged(Message<JsonObject> message) {
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    generation++;
    String keyHash = body.getString(KeyLookup.KEY_HASH);
    if (body.getBoolean(KeyLookup.ALL, false) || keyHash == null) {
      cache.invalidateAll();
    } else {
      cache.invalidateKey(keyHash.toLowerCase());
    }
  }
}
