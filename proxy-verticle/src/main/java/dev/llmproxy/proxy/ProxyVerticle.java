package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.proxy.balance.RoutingScript;
import dev.llmproxy.proxy.limit.RateLimitScript;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.common.model.BackendSnapshot;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The HTTP edge. Deployed once per event loop; each instance has its own backend pools and balancer and
 * follows the backend snapshots that the discovery verticle publishes.
 */
public final class ProxyVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);

  private final GatewayConfig config;
  private final ProxyEnvironment environment;
  private final ConnectionGuard.Limits connectionLimits;
  private ExchangeContext context;
  private HttpServer server;
  private MessageConsumer<JsonObject> snapshots;

  public ProxyVerticle(GatewayConfig config, ProxyEnvironment environment) {
    this.config = config;
    this.environment = environment;
    this.connectionLimits = ConnectionGuard.Limits.of(config.server());
  }

  @Override
  public Future<?> start() {
    UsageRecordCodec.register(vertx.eventBus());
    context = new ExchangeContext(vertx, config, environment);
    if (context.rateLimiter != null) {
      vertx.setPeriodic(60_000, t -> context.rateLimiter.forgetIdleKeys());
    }
    BackendStatsResponder.register(vertx, environment.backendStats());
    snapshots = vertx.eventBus().consumer(Addresses.BACKENDS_SNAPSHOT,
        message -> context.apply(BackendSnapshot.fromJson(message.body())));
    return snapshots.completion()
        .compose(v -> routingScript())
        .compose(v -> context.logs.loadScripts(vertx))
        .compose(v -> rateLimitScript())
        // The tokenizer's vocabulary is read once per JVM, off the event loop, before the first request needs it.
        .compose(v -> vertx.executeBlocking(() -> {
          TokenCounter.warmUp();
          return null;
        }))
        .compose(v -> currentSnapshot())
        .compose(v -> vertx.createHttpServer(ServerOptionsFactory.from(config.server()))
            .connectionHandler(connection -> ConnectionGuard.install(connection, connectionLimits))
            .requestHandler(new GatewayHandler(context))
            .invalidRequestHandler(GatewayHandler::invalidRequest)
            .listen())
        .onSuccess(s -> server = s);
  }

  /** Nothing starts half-configured: a routing script that does not load fails the start. */
  private Future<Void> routingScript() {
    ScriptConfig script = context.routing.script();
    if (!script.enabled()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, script, "routing.script")
        .map(compiled -> {
          context.router.script(new RoutingScript(compiled));
          return null;
        });
  }

  /** Like the routing script: a rate-limit script that does not load fails the start. */
  private Future<Void> rateLimitScript() {
    ScriptConfig script = config.rateLimit().script();
    if (!config.rateLimit().enabled() || !script.enabled()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, script, "rate_limit.script")
        .map(compiled -> {
          context.limitPlanner.script(new RateLimitScript(compiled));
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

  @Override
  public Future<?> stop() {
    long drainMs = config.server().shutdownTimeout().toMillis();
    Future<Void> drained = server == null ? Future.succeededFuture() : server.shutdown(drainMs, TimeUnit.MILLISECONDS);
    return drained.eventually(() -> snapshots.unregister()).onComplete(v -> {
      environment.stopEngineScraper();
      context.auth.close();
      context.clients.closeAll();
      context.pools.close();
    });
  }
}
