package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * Answers {@link Addresses#BACKENDS_STATS} for the admin API: the proxy's live view of each backend it has seen.
 * Every proxy instance registers one; they share the JVM's {@link BackendStatsRegistry}, so any of them answers
 * for all. Reply: {@code {"backends":[{"name","url","in_flight","latency_ms","ejected","healthy","up",
 * "engine_load"}]}}: {@code latency_ms} is the decaying average time to first byte, {@code engine_load} the last
 * load the backend reported in its own metrics ({@code queue_aware} only); both null when unknown.
 */
final class BackendStatsResponder {

  private BackendStatsResponder() {
  }

  /**
   * The consumers end with the verticle that registered them. In a cluster the member's own address
   * ({@link Addresses#BACKENDS_STATS_MEMBER_PREFIX} + node id) answers too, so that the admin API can ask each member.
   */
  static void register(Vertx vertx, BackendStatsRegistry registry) {
    vertx.eventBus().consumer(Addresses.BACKENDS_STATS, message -> message.reply(report(registry)));
    if (vertx instanceof VertxInternal internal && internal.clusterManager() != null) {
      vertx.eventBus().<JsonObject>consumer(Addresses.BACKENDS_STATS_MEMBER_PREFIX
          + internal.clusterManager().getNodeId(), message -> message.reply(report(registry)));
    }
  }

  static JsonObject report(BackendStatsRegistry registry) {
    long now = System.nanoTime();
    JsonArray backends = new JsonArray();
    for (Map.Entry<String, BackendStats> entry : registry.all().entrySet()) {
      BackendStats stats = entry.getValue();
      double latency = stats.ttfbScoreMs(now);
      double engine = stats.engineScore(now, Long.MAX_VALUE);
      backends.add(new JsonObject()
          .put("name", stats.name())
          .put("url", entry.getKey())
          .put("in_flight", stats.inFlight())
          .put("latency_ms", latency < 0 ? null : Math.round(latency * 10) / 10.0)
          .put("ejected", stats.ejectedAt(now))
          .put("healthy", stats.healthy())
          .put("up", stats.up(now))
          .put("engine_load", Double.isNaN(engine) ? null : engine));
    }
    return new JsonObject().put("backends", backends);
  }
}
