package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * {@code routing.flow_control} (ours): when every backend serving a model is saturated, new requests wait in the
 * gateway, by priority band and round-robin across tenants, instead of piling onto the engines.
 *
 * @param maxInFlight    per backend, the saturation threshold when it has no fresh engine figures (0: no cap); with
 *                       {@code maxWaiting} 0, the slots of a backend whose engine does not report them
 * @param maxWaiting     the engine's own waiting requests at which it is saturated; 0: none may wait there, a
 *                       backend is saturated while it has no free slot
 * @param maxKvCache     the engine's KV-cache use (0..1) at which it is saturated
 * @param priorityHeader the request header a client may send its priority in (an integer, higher first)
 * @param maxQueue       requests waiting in the gateway, all bands together (per proxy instance)
 * @param maxWait        the longest a request waits before it is shed
 */
public record FlowControlConfig(boolean enabled, int maxInFlight, int maxWaiting, double maxKvCache,
    String priorityHeader, int maxQueue, Duration maxWait) {

  /** Priorities are clamped to this range, so that bands (and their metric labels) stay few. */
  public static final int MIN_PRIORITY = -9;
  public static final int MAX_PRIORITY = 9;

  public static final FlowControlConfig DEFAULT =
      new FlowControlConfig(false, 0, 2, 0.9, "X-Priority", 1000, Duration.ofSeconds(30));

  static FlowControlConfig read(ConfigReader r) {
    return new FlowControlConfig(
        r.bool("enabled", DEFAULT.enabled),
        r.integer("max_in_flight", DEFAULT.maxInFlight),
        r.integer("max_waiting", DEFAULT.maxWaiting),
        r.decimal("max_kv_cache", DEFAULT.maxKvCache),
        r.string("priority_header", DEFAULT.priorityHeader),
        r.integer("max_queue", DEFAULT.maxQueue),
        r.duration("max_wait", DEFAULT.maxWait));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("max_in_flight", maxInFlight).put("max_waiting", maxWaiting)
        .put("max_kv_cache", maxKvCache).put("priority_header", priorityHeader).put("max_queue", maxQueue)
        .put("max_wait", JsonOut.duration(maxWait));
  }
}
