package dev.llmproxy.admin.gateway;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The config the gateway runs with, as the admin verticle knows it: the one it was deployed with, then each one
 * published on {@link Addresses#CONFIG_RUNNING} by the launcher of its JVM once a reload has taken effect (or been
 * rolled back).
 */
public final class RunningConfig {

  private static final Logger LOG = LoggerFactory.getLogger(RunningConfig.class);

  private final Vertx vertx;
  private final String path;
  private final AtomicReference<GatewayConfig> current;
  private volatile long version = 1;

  public RunningConfig(Vertx vertx, GatewayConfig initial, String path) {
    this.vertx = vertx;
    this.path = path;
    this.current = new AtomicReference<>(initial);
  }

  public GatewayConfig current() {
    return current.get();
  }

  /** The version of the config that runs: 1 at start, one more for each reload the launcher applied. */
  public long version() {
    return version;
  }

  /**
   * Follows the configs the launcher of this JVM publishes once they run; the consumer ends with the verticle. A
   * local consumer: each member says what it runs itself (a member may differ by its cluster section, or fail).
   */
  public MessageConsumer<JsonObject> follow() {
    return vertx.eventBus().<JsonObject>localConsumer(Addresses.CONFIG_RUNNING, message -> {
      try {
        JsonObject body = message.body();
        current.set(GatewayConfig.fromJson(body.getJsonObject("config")));
        version = body.getLong("version", version);
      } catch (RuntimeException e) {
        LOG.warn("ignoring an invalid config on {}: {}", Addresses.CONFIG_RUNNING, e.getMessage());
      }
    });
  }

  public String path() {
    return path;
  }
}
