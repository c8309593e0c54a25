package dev.llmproxy.common.verticle;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The one shape of the gateway's verticles, in the spirit of Eclipse Hono's {@code AbstractServiceBase}: {@link #start}
 * and {@link #stop} are final and run the template methods in one order for all of them.
 * <ul>
 *   <li>start: {@link #startService()} builds what the verticle needs; the consumers it registers through
 *   {@link #consumer} / {@link #localConsumer} are kept in one list, and the start completes once every one of them
 *   is registered (in a cluster: known to the other members). A start that fails unregisters them and releases what
 *   was handed to {@link #onRelease}, in reverse order: Vert.x never calls {@code stop()} after a failed start.
 *   <li>stop: {@link #drain()} (the proxy lets its requests finish), then the consumers are unregistered, then
 *   {@link #stopService()} (work under way ends), then the releases run, in reverse order.
 *   <li>{@link #reconfigure}: a reloaded config applied in place, prepared beside the running one and switched to on
 *   {@link Reconfiguration#commit()} only; a verticle that does not override it is replaced by the launcher instead.
 * </ul>
 * The verticle reads its sections of the typed {@link GatewayConfig} it is constructed with; deployed with no config
 * object (by class name, {@code DeploymentOptions.setConfig}), it reads the canonical JSON of the deployment's config.
 * The config is all a verticle is constructed with: what it shares with the other verticles of its Vert.x instance
 * (metrics registry, per-JVM caches, the launcher's lifecycle flags) it takes from {@link #jvm()} once started.
 */
public abstract class GatewayVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private final List<Supplier<Future<?>>> releases = new ArrayList<>();
  private GatewayConfig gatewayConfig;

  /** @param config the config this verticle starts with; null: the deployment's JSON config, read at start */
  protected GatewayVerticle(GatewayConfig config) {
    this.gatewayConfig = config;
  }

  /** The typed config this verticle runs with. */
  protected final GatewayConfig gatewayConfig() {
    return gatewayConfig;
  }

  /** What this verticle shares with the others of its Vert.x instance; usable from {@link #startService()} on. */
  protected final JvmResources jvm() {
    return JvmResources.of(vertx);
  }

  @Override
  public final Future<?> start() {
    Future<?> started;
    try {
      if (gatewayConfig == null) {
        gatewayConfig = GatewayConfig.fromJson(config());
      }
      started = startService();
    } catch (RuntimeException e) {
      started = Future.failedFuture(e);
    }
    return started
        .compose(v -> Future.all(consumers.stream().map(MessageConsumer::completion).toList()))
        .recover(failure -> unregisterAll().eventually(this::releaseAll).transform(v -> Future.failedFuture(failure)));
  }

  @Override
  public final Future<?> stop() {
    return drain()
        .eventually(this::unregisterAll)
        .eventually(this::stopService)
        .eventually(this::releaseAll);
  }

  /** Builds the verticle; the consumers registered through {@link #consumer} are awaited after it. */
  protected abstract Future<?> startService();

  /** Runs first on stop, while the consumers still answer; nothing by default. */
  protected Future<?> drain() {
    return Future.succeededFuture();
  }

  /** Runs once the consumers are unregistered, before the releases: work under way ends here. Nothing by default. */
  protected Future<?> stopService() {
    return Future.succeededFuture();
  }

  /** A consumer of this verticle: awaited at start, unregistered on stop and after a failed start. */
  protected final <T> MessageConsumer<T> consumer(String address, Handler<Message<T>> handler) {
    return keep(vertx.eventBus().consumer(address, handler));
  }

  /** As {@link #consumer}, answering only messages sent in this JVM. */
  protected final <T> MessageConsumer<T> localConsumer(String address, Handler<Message<T>> handler) {
    return keep(vertx.eventBus().localConsumer(address, handler));
  }

  private <T> MessageConsumer<T> keep(MessageConsumer<T> consumer) {
    consumers.add(consumer);
    return consumer;
  }

  /** What to close on stop (after {@link #stopService()}) and after a failed start; run in reverse order. */
  protected final void onRelease(Supplier<Future<?>> release) {
    releases.add(release);
  }

  private Future<Void> unregisterAll() {
    List<Future<Void>> unregistering = consumers.stream().map(MessageConsumer::unregister).toList();
    consumers.clear();
    return Future.join(unregistering).mapEmpty();
  }

  private Future<Void> releaseAll() {
    Future<Void> chain = Future.succeededFuture();
    for (int i = releases.size() - 1; i >= 0; i--) {
      Supplier<Future<?>> release = releases.get(i);
      chain = chain.eventually(() -> {
        try {
          return release.get().otherwise(e -> {
            LOG.warn("{}: releasing a resource failed: {}", getClass().getSimpleName(), e.getMessage());
            return null;
          });
        } catch (RuntimeException e) {
          LOG.warn("{}: releasing a resource failed: {}", getClass().getSimpleName(), e.getMessage());
          return Future.succeededFuture();
        }
      });
    }
    releases.clear();
    return chain;
  }

  /** A reloaded config built beside the running one; {@link #commit} switches to it, {@link #abort} drops it. */
  public interface Reconfiguration {
    Future<Void> commit();

    Future<Void> abort();
  }

  /**
   * Prepares {@code next} without using it yet. By default a verticle is not changed in place: the launcher deploys
   * a new one (auth beside the old one, discovery in its place) and this answers a failure saying so.
   */
  public Future<Reconfiguration> reconfigure(GatewayConfig next) {
    return Future.failedFuture(getClass().getSimpleName() + " is replaced on a reload, not reconfigured in place");
  }
}
