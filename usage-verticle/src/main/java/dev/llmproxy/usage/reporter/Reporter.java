package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * A destination of usage records, fed in journal order by its own delivery loop. A delivery is all or nothing:
 * a failed one is retried later with the same records, so destinations must treat {@code request_id} as the
 * idempotency key.
 */
public interface Reporter {

  /** The name its cursor and metrics go by. */
  String name();

  /** Records per {@link #deliver} call; the cursor is saved after each call. */
  int maxBatch();

  /** What this reporter sends for a record; the reporter's script (if any) sees and may replace it. */
  JsonObject payload(UsageRecord record);

  /** Sends payloads made by {@link #payload} (possibly reshaped); succeeds only when all of them are stored. */
  Future<Void> deliver(List<JsonObject> payloads);

  /**
   * What the delivery loop calls: {@code records} are made as they are read, one per journal record (the script's
   * payload with it when the reporter has a script), null where the script skipped the record. A reporter that sends
   * records one by one takes them as it sends them, so that only those on their way are in memory, and tells
   * {@code arrived} along the way how many, from the first on, are stored, so that the cursor follows before the
   * whole delivery has. One that stores a delivery at once (one statement, one message) gets their payloads from this
   * default, skipped ones left out.
   */
  default Future<Void> deliver(List<Outgoing> records, IntConsumer arrived) {
    List<JsonObject> present = records.stream().filter(Objects::nonNull).map(r -> r.payload(this)).toList();
    return present.isEmpty() ? Future.succeededFuture() : deliver(present);
  }

  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
