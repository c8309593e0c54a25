package dev.llmproxy.admin.gateway;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The config the gateway runs with, as the admin verticle knows it: the one it was deployed with, then each one
 * published on {@link Addresses#CONFIG_CHANGED} (by a reload here or elsewhere).
 */
public final class RunningConfig {

  private static final Logger LOG = LoggerFactory.getLogger(RunningConfig.class);

  private final Vertx vertx;
  private final String path;
  private final Supplier<Map<String, String>> environment;
  private final AtomicReference<GatewayConfig> current;

  public RunningConfig(Vertx vertx, GatewayConfig initial, String path, Supplier<Map<String, String>> environment) {
    this.vertx = vertx;
    this.path = path;
    this.environment = environment;
    this.current = new AtomicReference<>(initial);
  }

  public GatewayConfig current() {
    return current.get();
  }

  /** Follows configs published by others; the consumer ends with the verticle. */
  public MessageConsumer<JsonObject> follow() {
    return vertx.eventBus().<JsonObject>consumer(Addresses.CONFIG_CHANGED, message -> {
      try {
        current.set(GatewayConfig.fromJson(message.body()));
      } catch (RuntimeException e) {
        LOG.warn("ignoring an invalid config on {}: {}", Addresses.CONFIG_CHANGED, e.getMessage());
      }
    });
  }

  public String path() {
    return path;
  }

  /**
   * Reads the file again. A valid config becomes the running one and is published on
   * {@link Addresses#CONFIG_CHANGED}; an invalid one changes nothing. Either way the outcome says why.
   */
  public Future<LoadedConfig> reload() {
    return ConfigLoader.load(vertx, path, environment.get()).map(loaded -> {
      if (loaded.ok()) {
        current.set(loaded.config());
        vertx.eventBus().publish(Addresses.CONFIG_CHANGED, loaded.config().toJson());
        LOG.info("config reloaded from {}", path);
      } else {
        LOG.warn("config reload from {} refused: {}", path, String.join("; ", loaded.errors()));
      }
      return loaded;
    });
  }
}
