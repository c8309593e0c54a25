package dev.llmproxy.common.model;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The usage records one proxy event loop finished in one turn, handed to the usage verticle as one event-bus message
 * instead of one message each: every message crosses to the usage verticle's context (a task queued on another
 * thread, often a wake-up of it), and under load a turn ends several exchanges. The records are immutable and the
 * list is never changed once sent, so within one JVM it travels as it is.
 */
public record UsageBatch(List<UsageRecord> records) {

  public UsageBatch {
    records = List.copyOf(records);
  }

  /** As the records travel between cluster members: a JSON array of {@link UsageRecord#toJson()}. */
  public JsonArray toJson() {
    JsonArray json = new JsonArray(new ArrayList<>(records.size()));
    records.forEach(record -> json.add(record.toJson()));
    return json;
  }

  public static UsageBatch fromJson(JsonArray json) {
    List<UsageRecord> records = new ArrayList<>(json.size());
    for (int i = 0; i < json.size(); i++) {
      records.add(UsageRecord.fromJson(json.getJsonObject(i)));
    }
    return new UsageBatch(records);
  }

  /** The records of an event-bus message on the usage addresses: a batch, or one record (a single send, a test). */
  public static List<UsageRecord> of(Object body) {
    if (body instanceof UsageBatch batch) {
      return batch.records();
    }
    if (body instanceof UsageRecord record) {
      return List.of(record);
    }
    if (body instanceof JsonObject json) {
      return List.of(UsageRecord.fromJson(json));
    }
    throw new IllegalArgumentException("not a usage record: " + (body == null ? "null" : body.getClass().getName()));
  }
}
