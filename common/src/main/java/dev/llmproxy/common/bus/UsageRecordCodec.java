package dev.llmproxy.common.bus;

import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Usage records on the event bus: handed over as they are within one JVM (the record is immutable, so
 * no copy is needed on the request path), as JSON between the nodes of a cluster.
 */
public final class UsageRecordCodec implements MessageCodec<UsageRecord, UsageRecord> {

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

  /** A {@link UsageBatch}: as it is within one JVM, a JSON array of records between cluster members. */
  static final class BatchCodec implements MessageCodec<UsageBatch, UsageBatch> {

    @Override
    public void encodeToWire(Buffer buffer, UsageBatch batch) {
      Buffer json = batch.toJson().toBuffer();
      buffer.appendInt(json.length()).appendBuffer(json);
    }

    @Override
    public UsageBatch decodeFromWire(int pos, Buffer buffer) {
      int length = buffer.getInt(pos);
      return UsageBatch.fromJson(new JsonArray(buffer.getBuffer(pos + 4, pos + 4 + length)));
    }

    @Override
    public UsageBatch transform(UsageBatch batch) {
      return batch;
    }

    @Override
    public String name() {
      return "llmproxy.usage-batch";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }

  @Override
  public void encodeToWire(Buffer buffer, UsageRecord record) {
    Buffer json = record.toJson().toBuffer();
    buffer.appendInt(json.length()).appendBuffer(json);
  }

  @Override
  public UsageRecord decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return UsageRecord.fromJson(new JsonObject(buffer.getBuffer(pos + 4, pos + 4 + length)));
  }

  @Override
  public UsageRecord transform(UsageRecord record) {
    return record;
  }

  @Override
  public String name() {
    return "llmproxy.usage-record";
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
