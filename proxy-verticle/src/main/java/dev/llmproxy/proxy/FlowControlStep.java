package dev.llmproxy.proxy;

import dev.llmproxy.common.config.FlowControlConfig;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import dev.llmproxy.proxy.balance.Router;
import dev.llmproxy.proxy.balance.engine.EngineLoad;
import dev.llmproxy.proxy.metrics.FlowMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code routing.flow_control}: before routing, an inference request whose model has every backend saturated (or
 * that finds others already waiting) waits here, in a {@link FlowQueue} by priority band and tenant, until a
 * backend falls below its threshold; past {@code max_queue} or {@code max_wait} it is shed with 429
 * {@code overloaded}. Only admission waits: an answer under way is never touched. Not in the chain when off; when
 * nothing waits, the cost is one look at each serving backend's figures.
 *
 * <p>One per proxy instance (its queue lives on that instance's event loop). A queued request leaves when an
 * exchange of this instance ends, or at the next tick (every {@value #TICK_MS} ms while any wait), which also sees
 * other instances' and the engines' figures change.
 */
final class FlowControlStep implements ExchangeInterceptor {

  static final long TICK_MS = 50;
  /** Engine figures older than this do not count: the in-flight cap stands in. */
  private static final long ENGINE_MAX_AGE_NANOS = 5_000_000_000L;

  private final Vertx vertx;
  private final FlowControlConfig config;
  private final Router router;
  private final BackendStatsRegistry stats;
  private final FlowMetrics metrics;
  private final long maxWaitNanos;
  private final FlowQueue<Waiter> queue = new FlowQueue<>();
  private long timer = -1;
  private boolean pumpScheduled;

  FlowControlStep(Vertx vertx, FlowControlConfig config, Router router, BackendStatsRegistry stats, FlowMetrics metrics) {
    this.vertx = vertx;
    this.config = config;
    this.router = router;
    this.stats = stats;
    this.metrics = metrics;
    this.maxWaitNanos = config.maxWait().toNanos();
    router.avoidSaturated(backend -> saturated(stats.of(backend), System.nanoTime()));
  }

  /** One queued request. */
  static final class Waiter implements FlowQueue.Entry {
    private final FlowControlStep step;
    private final ApiExchange exchange;
    private final int band;
    private final String tenant;
    private final long queuedNanos;
    private final Promise<Void> walked = Promise.promise();

    private Waiter(FlowControlStep step, ApiExchange exchange, int band, String tenant, long queuedNanos) {
      this.step = step;
      this.exchange = exchange;
      this.band = band;
      this.tenant = tenant;
      this.queuedNanos = queuedNanos;
    }

    @Override
    public int band() {
      return band;
    }

    @Override
    public String tenant() {
      return tenant;
    }

    /** The client left while this waited: out of the queue at once. */
    void clientLeft() {
      if (step.queue.remove(this)) {
        step.metrics.queueLength(band, -1);
        step.stopTickerIfIdle();
      }
      walked.tryFail(ApiExchange.ENDED.cause());
    }
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    if (!exchange.endpoint.inference() || exchange.inspected == null) {
      return exchange.sendRequest();
    }
    long now = System.nanoTime();
    // Those already waiting go first: a newcomer waits behind them even if a slot is free this instant.
    if (queue.isEmpty() && !saturated(exchange.inspected.model(), now)) {
      return exchange.sendRequest();
    }
    Waiter waiter = new Waiter(this, exchange, band(exchange), tenant(exchange), now);
    if (queue.size() >= config.maxQueue()) {
      Waiter victim = queue.shedBelow(waiter.band);
      if (victim == null) {
        metrics.shed(waiter.band, "max_queue");
        return Future.failedFuture(overloaded(exchange, "the gateway's queue is full"));
      }
      metrics.queueLength(victim.band, -1);
      shed(victim, "max_queue", "a request of higher priority took its place in the gateway's full queue");
    }
    queue.add(waiter);
    metrics.queueLength(waiter.band, 1);
    exchange.flowWaiter = waiter;
    if (timer < 0) {
      timer = vertx.setPeriodic(TICK_MS, id -> tick());
    }
    pump();
    return waiter.walked.future();
  }

  /** An exchange of this instance ended: its backend slot may be free once it has let go (after this turn). */
  void exchangeEnded() {
    if (!queue.isEmpty() && !pumpScheduled) {
      pumpScheduled = true;
      vertx.runOnContext(v -> {
        pumpScheduled = false;
        pump();
      });
    }
  }

  private void tick() {
    long now = System.nanoTime();
    for (Waiter expired : queue.removeIf(w -> now - w.queuedNanos >= maxWaitNanos)) {
      metrics.queueLength(expired.band, -1);
      shed(expired, "max_wait", "no backend had room within routing.flow_control.max_wait");
    }
    pump();
  }

  /** Sends on every waiter whose model has a backend below its threshold, in band and round-robin order. */
  private void pump() {
    Map<String, Boolean> room = new HashMap<>();
    while (!queue.isEmpty()) {
      long now = System.nanoTime();
      Waiter next = queue.next(w -> room.computeIfAbsent(String.valueOf(w.exchange.inspected.model()),
          m -> !saturated(w.exchange.inspected.model(), now)));
      if (next == null) {
        break;
      }
      metrics.queueLength(next.band, -1);
      metrics.waited(next.band, now - next.queuedNanos);
      next.exchange.flowWaiter = null;
      // Routing and the forward step run now, so that the backend's in-flight count has this request before the next look.
      next.exchange.sendRequest().onComplete(next.walked);
      room.clear();
    }
    stopTickerIfIdle();
  }

  private void stopTickerIfIdle() {
    if (queue.isEmpty() && timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void shed(Waiter waiter, String reason, String message) {
    metrics.shed(waiter.band, reason);
    waiter.exchange.flowWaiter = null;
    waiter.walked.tryFail(overloaded(waiter.exchange, message));
  }

  private GatewayError overloaded(ApiExchange exchange, String message) {
    exchange.response.putHeader("Retry-After", "1");
    return new GatewayError(ErrorKind.OVERLOADED, "Every backend for this model is saturated: " + message);
  }

  /** Every backend that serves the model is at or past a threshold (none serving: routing answers that). */
  boolean saturated(String model, long now) {
    List<Backend> serving = router.serving(model);
    if (serving.isEmpty()) {
      return false;
    }
    for (int i = 0; i < serving.size(); i++) {
      if (!saturated(stats.of(serving.get(i)), now)) {
        return false;
      }
    }
    return true;
  }

  private boolean saturated(BackendStats backend, long now) {
    if (config.maxWaiting() == 0) {
      return noFreeSlot(backend, now);
    }
    int inFlight = backend.inFlight();
    EngineLoad load = backend.engineLoad(now, ENGINE_MAX_AGE_NANOS);
    if (load == null) {
      return config.maxInFlight() > 0 && inFlight >= config.maxInFlight();
    }
    // Requests sent since the scrape are not in the engine's figures yet: what the gateway has in flight beyond
    // what the engine runs is waiting there.
    double waiting = Double.isNaN(load.waiting()) ? 0 : load.waiting();
    if (!Double.isNaN(load.running())) {
      waiting = Math.max(waiting, inFlight - load.running());
    }
    return waiting >= config.maxWaiting() || kvCacheFull(load);
  }

  /**
   * {@code max_waiting: 0}: the engine is to queue nothing, so a backend takes a request only while one of its slots
   * is free: the requests at it (its figures corrected by what this gateway sent and saw end since the scrape) are
   * fewer than its slots as the engine reports them, else {@code max_in_flight} (the validator makes it > 0).
   */
  private boolean noFreeSlot(BackendStats backend, long now) {
    int slots = backend.engineSlots();
    if (slots == 0) {
      slots = config.maxInFlight();
    }
    // No capacity known at all (a config the validator refuses) does not hold requests forever.
    return slots > 0 && backend.atEngine(now, ENGINE_MAX_AGE_NANOS) >= slots
        || kvCacheFull(backend.engineLoad(now, ENGINE_MAX_AGE_NANOS));
  }

  private boolean kvCacheFull(EngineLoad load) {
    return load != null && !Double.isNaN(load.kvCacheUsage()) && load.kvCacheUsage() >= config.maxKvCache();
  }

  /**
   * The request's band: the header's integer; a key's (or an {@code on_auth} hook's) {@code metadata.priority} is
   * the band without a header and a cap with one. Clamped to the band range.
   */
  private int band(ApiExchange exchange) {
    Integer cap = priority(exchange.hookMetadata);
    if (cap == null && exchange.decision != null) {
      cap = priority(exchange.decision.metadata());
    }
    Integer asked = null;
    String header = exchange.request.getHeader(config.priorityHeader());
    if (header != null) {
      try {
        asked = Integer.parseInt(header.trim());
      } catch (NumberFormatException ignored) {
        // Not an integer: as if absent.
      }
    }
    int band = asked == null ? (cap == null ? 0 : cap) : (cap == null ? asked : Math.min(asked, cap));
    return Math.max(FlowControlConfig.MIN_PRIORITY, Math.min(FlowControlConfig.MAX_PRIORITY, band));
  }

  private static Integer priority(JsonObject metadata) {
    Object value = metadata == null ? null : metadata.getValue("priority");
    if (value instanceof Number number) {
      return number.intValue();
    }
    if (value instanceof String text) {
      try {
        return Integer.parseInt(text.trim());
      } catch (NumberFormatException ignored) {
        return null;
      }
    }
    return null;
  }

  /** Who the request is for, for round-robin: the key's user, else the key, else the client's address. */
  private static String tenant(ApiExchange exchange) {
    if (exchange.decision != null && exchange.decision.userId() != null) {
      return "u:" + exchange.decision.userId();
    }
    return exchange.apiKey != null ? "k:" + exchange.apiKey : "ip:" + exchange.clientIp;
  }
}
