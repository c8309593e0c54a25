package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The usage hand-over's only reader: sends the proxy member's journaled records to a usage member over
 * {@link Addresses#USAGE_RECORD}, asking for the reply the usage verticle gives once a record is on its disk. A
 * record is handed over when that reply has come; none (no usage member: no handler; or no answer within the ack
 * timeout) fails the delivery, and the delivery loop sends the same records again later. The records of a delivery
 * leave in journal order, without waiting for each other's replies; the cursor moves over the replied prefix only.
 * A record may so reach a usage member twice (its reply lost, or a later one replied before an earlier failed):
 * every reporter and the quota charge take {@code request_id} as the idempotency key, so it is stored once.
 */
public final class UsageMemberReporter implements Reporter {

  private static final Logger LOG = LoggerFactory.getLogger(UsageMemberReporter.class);
  /**
   * As many as the delivery loop reads at once: each delivery waits for the usage member's fsync (its group commit),
   * so the fewer deliveries, the sooner a backlog is handed over.
   */
  private static final int MAX_BATCH = 500;

  private final EventBus bus;
  private final DeliveryOptions options;
  private boolean failing;

  public UsageMemberReporter(EventBus bus, Duration ackTimeout) {
    this.bus = bus;
    this.options = new DeliveryOptions().setSendTimeout(ackTimeout.toMillis());
  }

  @Override
  public String name() {
    return "usage-member";
  }

  @Override
  public int maxBatch() {
    return MAX_BATCH;
  }

  /** The record with its raw key: it crosses to the usage member, whose journal keeps the key only hashed. */
  @Override
  public JsonObject payload(UsageRecord record) {
    return record.toJson();
  }

  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    return deliver(payloads.stream().map(payload -> Outgoing.of(UsageRecord.fromJson(payload))).toList(), count -> { });
  }

  /** Each record as it is: no script runs on the hand-over, so nothing needs its JSON object. */
  @Override
  public Future<Void> deliver(List<Outgoing> records, IntConsumer arrived) {
    int size = records.size();
    Promise<Void> done = Promise.promise();
    boolean[] replied = new boolean[size];
    int[] prefix = {0};
    for (int i = 0; i < size; i++) {
      int index = i;
      Outgoing outgoing = records.get(i);
      if (outgoing == null) {
        replied[index] = true;
        continue;
      }
      UsageRecord record = outgoing.scripted() == null ? outgoing.record() : UsageRecord.fromJson(outgoing.scripted());
      bus.request(Addresses.USAGE_RECORD, record, options).onComplete(ar -> {
        if (ar.failed()) {
          if (done.tryFail(ar.cause()) && !failing) {
            failing = true;
            LOG.warn("usage hand-over: no usage member took record {} ({}); the records stay in this member's "
                + "journal and are sent again", record.requestId(), ar.cause().getMessage());
          }
          return;
        }
        replied[index] = true;
        int before = prefix[0];
        while (prefix[0] < size && replied[prefix[0]]) {
          prefix[0]++;
        }
        if (prefix[0] > before && !done.future().isComplete()) {
          arrived.accept(prefix[0]);
        }
        if (prefix[0] == size && done.tryComplete() && failing) {
          failing = false;
          LOG.info("usage hand-over: a usage member takes records again");
        }
      });
    }
    if (size == 0 || allReplied(replied)) {
      done.tryComplete();
    }
    return done.future();
  }

  private static boolean allReplied(boolean[] replied) {
    for (boolean r : replied) {
      if (!r) {
        return false;
      }
    }
    return true;
  }
}
