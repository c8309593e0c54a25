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
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code routing.flow_control}: before routing, an inference request whose model has every backend saturated (or
 * that finds others already waiting) waits here, in the JVM's {@link FlowGate} by priority band and tenant, until a
 * backend falls below its threshold; past {@code max_queue} or {@code max_wait} it is shed with 429
 * {@code overloaded}. Only admission waits: an answer under way is never touched. Not in the chain when off; when
 * nothing waits, the cost is one look at each serving backend's figures and the tenant's fair-share tag.
 *
 * <p>One per proxy instance and config; the queue is the JVM's, shared by them all. A queued request leaves when an
 * exchange ends, or at the next tick (every {@value #TICK_MS} ms of each instance that queued one, while any wait),
 * which also sees the engines' figures change; it is routed on its own event loop.
 */
final class FlowControlStep implements ExchangeInterceptor {

  static final long TICK_MS = 50;
  /** Engine figures older than this do not count: the in-flight cap stands in. */
  private static final long ENGINE_MAX_AGE_NANOS = 5_000_000_000L;
  /** Room past which counting stops: no threshold configured. */
  private static final int UNBOUNDED = Integer.MAX_VALUE / 4;

  private final Vertx vertx;
  private final FlowControlConfig config;
  private final Router router;
  private final BackendStatsRegistry stats;
  private final FlowMetrics metrics;
  private final FlowGate gate;
  private final long maxWaitNanos;
  private long timer = -1;
  private boolean pumpScheduled;

  FlowControlStep(Vertx vertx, FlowControlConfig config, Router router, BackendStatsRegistry stats, FlowMetrics metrics,
      FlowGate gate) {
    this.vertx = vertx;
    this.config = config;
    this.router = router;
    this.stats = stats;
    this.metrics = metrics;
    this.gate = gate;
    this.maxWaitNanos = config.maxWait().toNanos();
    router.avoidSaturated(backend -> room(stats.of(backend), System.nanoTime()) <= 0);
  }

  /** One queued request. */
  static final class Waiter implements FlowQueue.Entry {
    private final FlowControlStep step;
    private final ApiExchange exchange;
    private final Context context;
    private final String model;
    private final int band;
    private final String tenant;
    private final long queuedNanos;
    private final long deadlineNanos;
    private final Promise<Void> walked = Promise.promise();

    private Waiter(FlowControlStep step, ApiExchange exchange, int band, String tenant, long queuedNanos) {
      this.step = step;
      this.exchange = exchange;
      this.context = Vertx.currentContext();
      this.model = exchange.inspected.model();
      this.band = band;
      this.tenant = tenant;
      this.queuedNanos = queuedNanos;
      this.deadlineNanos = queuedNanos + step.maxWaitNanos;
    }

    @Override
    public int band() {
      return band;
    }

    @Override
    public String tenant() {
      return tenant;
    }

    /** The client left while this waited: out of the queue at once. On the waiter's event loop. */
    void clientLeft() {
      boolean removed;
      synchronized (step.gate) {
        removed = step.gate.queue.remove(this);
        step.gate.queueChanged();
      }
      if (removed) {
        step.metrics.queueLength(band, -1);
      }
      walked.tryFail(ApiExchange.ENDED.cause());
    }

    /** The exchange is its event loop's: what the queue decided on another thread happens there. */
    private void onItsLoop(Runnable action) {
      if (context == Vertx.currentContext()) {
        action.run();
      } else {
        context.runOnContext(v -> action.run());
      }
    }

    /** Taken from the queue (and counted pending): routed on its own event loop, now or soon. */
    private void send() {
      onItsLoop(this::sendHere);
    }

    private void sendHere() {
      exchange.flowWaiter = null;
      if (walked.future().isComplete()) { // the client left meanwhile
        step.gate.routed(model);
        return;
      }
      Future<Void> sent;
      try {
        // Routing and the forward step run now: the backend's in-flight count has this request when it stops pending.
        sent = exchange.sendRequest();
      } finally {
        step.gate.routed(model);
      }
      sent.onComplete(walked);
    }

    private void shed(String reason, String message) {
      step.metrics.shed(band, reason);
      onItsLoop(() -> {
        exchange.flowWaiter = null;
        walked.tryFail(step.overloaded(exchange, message));
      });
    }
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    if (!exchange.endpoint.inference() || exchange.inspected == null) {
      return exchange.sendRequest();
    }
    long now = System.nanoTime();
    String model = exchange.inspected.model();
    String tenant = tenant(exchange);
    // Those already waiting (or on their way) go first: a newcomer waits behind them even if a slot is free this instant.
    if (gate.idle() && room(model, now) > 0) {
      gate.queue.sentDirectly(tenant);
      return exchange.sendRequest();
    }
    Waiter waiter = new Waiter(this, exchange, band(exchange), tenant, now);
    Waiter victim = null;
    boolean sendNow = false;
    boolean refuse = false;
    synchronized (gate) {
      if (gate.queue.isEmpty() && room(model, now) > gate.pending(model)) {
        gate.queue.sentDirectly(tenant);
        sendNow = true;
      } else if (gate.queue.size() >= config.maxQueue() && (victim = gate.queue.shedBelow(waiter.band)) == null) {
        refuse = true;
      } else {
        gate.queue.add(waiter);
        gate.queueChanged();
        exchange.flowWaiter = waiter;
      }
    }
    if (sendNow) {
      return exchange.sendRequest();
    }
    if (refuse) {
      metrics.shed(waiter.band, "max_queue");
      return Future.failedFuture(overloaded(exchange, "the gateway's queue is full"));
    }
    if (victim != null) {
      metrics.queueLength(victim.band, -1);
      victim.shed("max_queue", "a request of higher priority took its place in the gateway's full queue");
    }
    metrics.queueLength(waiter.band, 1);
    if (timer < 0) {
      timer = vertx.setPeriodic(TICK_MS, id -> tick());
    }
    pump();
    return waiter.walked.future();
  }

  /** An exchange of this instance ended: its backend slot may be free once it has let go (after this turn). */
  void exchangeEnded() {
    if (gate.anyWaiting() && !pumpScheduled) {
      pumpScheduled = true;
      vertx.runOnContext(v -> {
        pumpScheduled = false;
        pump();
      });
    }
  }

  private void tick() {
    long now = System.nanoTime();
    List<Waiter> expired;
    synchronized (gate) {
      expired = gate.queue.removeIf(w -> now >= w.deadlineNanos);
      gate.queueChanged();
    }
    for (Waiter waiter : expired) {
      metrics.queueLength(waiter.band, -1);
      waiter.shed("max_wait", "no backend had room within routing.flow_control.max_wait");
    }
    pump();
  }

  /**
   * Takes every waiter whose model has room, in band and fair order (each counted pending until its own event loop
   * has routed it), then sends them on.
   */
  private void pump() {
    List<Waiter> taken = new ArrayList<>();
    long now = System.nanoTime();
    synchronized (gate) {
      // Room left per model in this pass: the backends' room less what is already on its way to them.
      Map<String, int[]> room = new HashMap<>();
      Waiter next;
      while ((next = gate.queue.next(w -> room.computeIfAbsent(w.model,
          m -> new int[] {w.step.room(m, now) - gate.pending(m)})[0] > 0)) != null) {
        room.get(next.model)[0]--;
        gate.taken(next.model);
        taken.add(next);
      }
      gate.queueChanged();
    }
    for (Waiter waiter : taken) {
      metrics.queueLength(waiter.band, -1);
      metrics.waited(waiter.band, now - waiter.queuedNanos);
      waiter.send();
    }
    if (!gate.anyWaiting() && timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private GatewayError overloaded(ApiExchange exchange, String message) {
    exchange.response.putHeader("Retry-After", "1");
    return new GatewayError(ErrorKind.OVERLOADED, "Every backend for this model is saturated: " + message);
  }

  /**
   * How many more requests the backends serving {@code model} take before each is at a threshold: 0 when every one
   * is saturated; {@link #UNBOUNDED} when one has no threshold, or none serves the model (routing answers that).
   */
  int room(String model, long now) {
    List<Backend> serving = router.serving(model);
    if (serving.isEmpty()) {
      return UNBOUNDED;
    }
    int room = 0;
    for (int i = 0; i < serving.size() && room < UNBOUNDED; i++) {
      room += room(stats.of(serving.get(i)), now);
    }
    return Math.min(room, UNBOUNDED);
  }

  /** How many more requests one backend takes before it is saturated. */
  private int room(BackendStats backend, long now) {
    if (config.maxWaiting() == 0) {
      return freeSlots(backend, now);
    }
    int inFlight = backend.inFlight();
    EngineLoad load = backend.engineLoad(now, ENGINE_MAX_AGE_NANOS);
    if (load == null) {
      return config.maxInFlight() > 0 ? Math.max(0, config.maxInFlight() - inFlight) : UNBOUNDED;
    }
    if (kvCacheFull(load)) {
      return 0;
    }
    // Requests sent since the scrape are not in the engine's figures yet: what the gateway has in flight beyond
    // what the engine runs is waiting there.
    double waiting = Double.isNaN(load.waiting()) ? 0 : load.waiting();
    if (!Double.isNaN(load.running())) {
      waiting = Math.max(waiting, inFlight - load.running());
    }
    return waiting >= config.maxWaiting() ? 0 : (int) Math.ceil(config.maxWaiting() - waiting);
  }

  /**
   * {@code max_waiting: 0}: the engine is to queue nothing, so a backend takes a request only while one of its slots
   * is free: the requests at it (its figures corrected by what this gateway sent and saw end since the scrape) are
   * fewer than its slots as the engine reports them, else {@code max_in_flight} (the validator makes it > 0).
   */
  private int freeSlots(BackendStats backend, long now) {
    if (kvCacheFull(backend.engineLoad(now, ENGINE_MAX_AGE_NANOS))) {
      return 0;
    }
    int slots = backend.engineSlots();
    if (slots == 0) {
      slots = config.maxInFlight();
    }
    // No capacity known at all (a config the validator refuses) does not hold requests forever.
    return slots > 0 ? Math.max(0, slots - backend.atEngine(now, ENGINE_MAX_AGE_NANOS)) : UNBOUNDED;
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
