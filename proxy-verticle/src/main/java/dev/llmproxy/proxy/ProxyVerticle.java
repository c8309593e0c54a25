package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.util.ListenErrors;
import dev.llmproxy.proxy.balance.RoutingScript;
import dev.llmproxy.proxy.limit.RateLimitScript;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.common.model.BackendSnapshot;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The HTTP edge. Deployed once per event loop; each instance has its own backend pools and balancer and
 * follows the backend snapshots that the discovery verticle publishes.
 *
 * <p>A reloaded config is applied in place ({@link #reconfigure}, then the returned {@link Reconfiguration}): a new
 * {@link ExchangeContext} is built beside the running one, and the server's handler moves to it in one step on this
 * instance's event loop. Exchanges already under way keep the context they started with; its pools and clients
 * close when the last of them has ended. The listening socket and its connections are not touched.
 */
public final class ProxyVerticle extends GatewayVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);

  private ProxyEnvironment environment;
  private Context ownContext;
  private ConnectionGuard.Limits connectionLimits;
  private ExchangeContext context;
  private GatewayHandler handler;
  private HttpServer server;

  /**
   * @param config all the proxy is built from; what it shares with the other instances of its JVM (metrics, flags,
   *     limiter, caches) is its Vert.x instance's {@link ProxyEnvironment}, taken at start
   */
  public ProxyVerticle(GatewayConfig config) {
    super(config);
  }

  /** Deployed by class name: the config is the deployment's canonical JSON. */
  public ProxyVerticle() {
    this(null);
  }

  @Override
  protected Future<?> startService() {
    ownContext = vertx.getOrCreateContext();
    environment = ProxyEnvironment.of(vertx, gatewayConfig().metrics());
    connectionLimits = ConnectionGuard.Limits.of(gatewayConfig().server());
    UsageRecordCodec.register(vertx.eventBus());
    onRelease(() -> {
      if (context != null) {
        context.close();
      }
      return Future.succeededFuture();
    });
    return build(gatewayConfig())
        .compose(built -> {
          context = built;
          handler = new GatewayHandler(built);
          return this.<JsonObject>consumer(Addresses.BACKENDS_SNAPSHOT,
              message -> context.apply(BackendSnapshot.fromJson(message.body()))).completion();
        })
        .compose(v -> {
          vertx.setPeriodic(60_000, t -> context.forgetIdleLimitKeys());
          BackendStatsResponder.register(vertx, environment.backendStats());
          // The tokenizer's vocabulary is read once per JVM, off the event loop, before the first request needs it.
          return vertx.executeBlocking(() -> {
            TokenCounter.warmUp();
            return null;
          });
        })
        .compose(v -> currentSnapshot())
        .compose(v -> vertx.createHttpServer(ServerOptionsFactory.from(gatewayConfig().server()))
            // Through a field, so that a reloaded config moves new requests to a new context.
            .connectionHandler(connection -> ConnectionGuard.install(connection, connectionLimits))
            .requestHandler(request -> handler.handle(request))
            .invalidRequestHandler(GatewayHandler::invalidRequest)
            .listen()
            .recover(e -> Future.failedFuture(ListenErrors.of("server.listen", gatewayConfig().server().listen(), e))))
        .onSuccess(s -> {
          server = s;
          environment.proxyListening();
        });
  }

  /** A context for {@code config} with its scripts loaded; nothing half-configured: a script that fails fails it. */
  private Future<ExchangeContext> build(GatewayConfig config) {
    ExchangeContext built = new ExchangeContext(vertx, config, environment);
    return routingScript(built)
        .compose(v -> built.logs.loadScripts(vertx))
        .compose(v -> rateLimitScript(built))
        .compose(v -> built.loadHooks())
        .map(v -> built)
        .onFailure(e -> built.close());
  }

  /**
   * When only the keys changed (the proxy's own sections did not): the auth gate's cached decisions are dropped on
   * commit.
   */
  public Future<Reconfiguration> forgetDecisions() {
    return Future.succeededFuture(new Reconfiguration() {
      @Override
      public Future<Void> commit() {
        return onOwnLoop(() -> context.auth.forgetDecisions());
      }

      @Override
      public Future<Void> abort() {
        return Future.succeededFuture();
      }
    });
  }

  /**
   * Builds, on this instance's event loop, what {@code next} asks for, without using it yet; {@code commit} moves new
   * requests to it (and drops the cached auth decisions with the old context), run on the instance's event loop.
   */
  @Override
  public Future<Reconfiguration> reconfigure(GatewayConfig next) {
    Promise<Reconfiguration> prepared = Promise.promise();
    ownContext.runOnContext(v -> {
      build(next).onComplete(built -> {
        if (built.failed()) {
          prepared.fail(built.cause());
          return;
        }
        ExchangeContext fresh = built.result();
        prepared.complete(new Reconfiguration() {
          @Override
          public Future<Void> commit() {
            return onOwnLoop(() -> swapTo(fresh));
          }

          @Override
          public Future<Void> abort() {
            return onOwnLoop(fresh::close);
          }
        });
      });
    });
    return prepared.future();
  }

  private void swapTo(ExchangeContext fresh) {
    ExchangeContext old = context;
    fresh.apply(old.snapshot());
    context = fresh;
    handler = new GatewayHandler(fresh);
    // The decisions are the JVM's, not the old context's: they go with it all the same.
    fresh.auth.forgetDecisions();
    old.retire();
    LOG.debug("proxy instance moved to the reloaded config; {} exchange(s) finish on the previous one", old.active());
  }

  private Future<Void> onOwnLoop(Runnable action) {
    Promise<Void> done = Promise.promise();
    ownContext.runOnContext(v -> {
      try {
        action.run();
        done.complete();
      } catch (RuntimeException e) {
        done.fail(e);
      }
    });
    return done.future();
  }

  /** Nothing starts half-configured: a routing script that does not load fails the start. */
  private Future<Void> routingScript(ExchangeContext target) {
    ScriptConfig script = target.routing.script();
    if (!script.enabled()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, script, "routing.script")
        .map(compiled -> {
          target.router.script(new RoutingScript(compiled));
          return null;
        });
  }

  /** Like the routing script: a rate-limit script that does not load fails the start. */
  private Future<Void> rateLimitScript(ExchangeContext target) {
    ScriptConfig script = target.config.rateLimit().script();
    if (!target.config.rateLimit().enabled() || !script.enabled()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, script, "rate_limit.script")
        .map(compiled -> {
          target.limitPlanner.script(new RateLimitScript(compiled));
          return null;
        });
  }

  /** Asks discovery for the snapshot it already has; until one arrives the gateway is simply not ready. */
  private Future<Void> currentSnapshot() {
    return vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_CURRENT, null)
        .map(reply -> {
          context.apply(BackendSnapshot.fromJson(reply.body()));
          return (Void) null;
        })
        .otherwise(failure -> {
          LOG.debug("no backend snapshot yet: {}", failure.getMessage());
          return null;
        });
  }

  /** The port actually bound, for tests that listen on port 0. */
  public int actualPort() {
    return server.actualPort();
  }

  /** Requests and streams under way finish (up to {@code server.shutdown_timeout}) while snapshots still arrive. */
  @Override
  protected Future<?> drain() {
    long drainMs = context.config.server().shutdownTimeout().toMillis();
    return server == null ? Future.succeededFuture() : server.shutdown(drainMs, TimeUnit.MILLISECONDS);
  }

  @Override
  protected Future<?> stopService() {
    if (environment != null) {
      environment.stopEngineScraper();
    }
    return Future.succeededFuture();
  }
}
