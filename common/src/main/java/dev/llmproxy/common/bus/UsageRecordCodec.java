package dev.llmproxy.common.bus;

import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Usage records on the event bus: handed over as they are within one JVM (the record is immutable, so
 * no copy is needed on the request path), as JSON between the nodes of a cluster.
 */
public final class UsageRecordCodec extends AsIsWithinJvm<UsageRecord> {

  /** Registers the codecs of records and of batches once per Vert.x instance; a second call is harmless. */
  public static void register(EventBus bus) {
    try {
      bus.registerDefaultCodec(UsageRecord.class, new UsageRecordCodec());
    } catch (IllegalStateException alreadyRegistered) {
      // Several verticles of one JVM may each make sure of it.
    }
    try {
      bus.registerDefaultCodec(UsageBatch.class, new BatchCodec());
    } catch (IllegalStateException alreadyRegistered) {
      // idem
    }
  }

  UsageRecordCodec() {
    super("llmproxy.usage-record");
  }

  @Override
  Buffer toJson(UsageRecord record) {
    return record.toJson().toBuffer();
  }

  @Override
  UsageRecord fromJson(Buffer json) {
    return UsageRecord.fromJson(new JsonObject(json));
  }

  /** A {@link UsageBatch}: a JSON array of records between cluster members. */
  static final class BatchCodec extends AsIsWithinJvm<UsageBatch> {

    BatchCodec() {
      super("llmproxy.usage-batch");
    }

    @Override
    Buffer toJson(UsageBatch batch) {
      return batch.toJson().toBuffer();
    }

    @Override
    UsageBatch fromJson(Buffer json) {
      return UsageBatch.fromJson(new JsonArray(json));
    }
  }
}
