package dev.llmproxy.discovery;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.BackendSnapshot;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Owns the backend set and publishes it as snapshots. For now the set is the static {@code backends[]};
 * discovery sources and active health checks come with their own issue.
 */
public final class DiscoveryVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(DiscoveryVerticle.class);

  private final GatewayConfig config;
  private BackendSnapshot current = BackendSnapshot.EMPTY;
  private MessageConsumer<Object> currentRequests;

  public DiscoveryVerticle(GatewayConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    currentRequests = vertx.eventBus().consumer(Addresses.BACKENDS_CURRENT, message -> message.reply(current.toJson()));
    return currentRequests.completion().onSuccess(v -> publish(staticBackends()));
  }

  private List<Backend> staticBackends() {
    List<Backend> backends = new ArrayList<>();
    for (BackendConfig backend : config.backends()) {
      backends.add(Backend.of(backend, config.routing(), true));
    }
    return backends;
  }

  private void publish(List<Backend> backends) {
    current = new BackendSnapshot(current.version() + 1, backends);
    JsonObject snapshot = current.toJson();
    vertx.eventBus().publish(Addresses.BACKENDS_SNAPSHOT, snapshot);
    LOG.info("backend snapshot v{}: {} backend(s)", current.version(), backends.size());
  }
}
