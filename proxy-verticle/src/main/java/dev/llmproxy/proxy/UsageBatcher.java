package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Gathers the usage records one proxy instance's event loop makes in one turn and sends them as one event-bus message
 * ({@link UsageBatch}) when the turn's other work is done: each message crosses to the usage verticle's context, a
 * task queued on another thread (and often a wake-up of it), which cost more than building the record. A record waits
 * no longer than the tasks already queued on its own event loop, so nothing is held back for a batch to fill; at most
 * {@link #MAX_BATCH} records go in one message. {@link #flush()} sends what is gathered at once (the instance
 * stopping). Used on its event loop only.
 */
final class UsageBatcher {

  /** A turn that ends more exchanges than this sends several messages: one journal group stays bounded. */
  static final int MAX_BATCH = 256;

  private final Vertx vertx;
  private final Context context;
  private final Supplier<UsageRoute> route;
  private List<UsageRecord> gathered = new ArrayList<>();
  private boolean flushQueued;

  /** @param route read at each send: a cluster member may move its records to the hand-over after start */
  UsageBatcher(Vertx vertx, Context context, Supplier<UsageRoute> route) {
    this.vertx = vertx;
    this.context = context;
    this.route = route;
  }

  void add(UsageRecord record) {
    gathered.add(record);
    if (gathered.size() >= MAX_BATCH) {
      flush();
    } else if (!flushQueued) {
      flushQueued = true;
      context.runOnContext(v -> {
        flushQueued = false;
        flush();
      });
    }
  }

  /** Sends what is gathered, if anything. */
  void flush() {
    if (gathered.isEmpty()) {
      return;
    }
    List<UsageRecord> batch = gathered;
    gathered = new ArrayList<>();
    route.get().send(vertx.eventBus(), new UsageBatch(batch));
  }
}
