package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code type: builtin}: batches to the admin verticle's SQLite store over {@link Addresses#USAGE_STORE}
 * ({@code {"records": [...]}}, reply {@code {"stored": n}}). The admin side upserts by request id and applies
 * {@code retention_days}; no reply in time (admin not deployed, busy) is a failure retried later.
 */
public final class BuiltinReporter implements Reporter {

  private static final long REPLY_TIMEOUT_MS = 10_000;

  private final String name;
  private final EventBus bus;

  public BuiltinReporter(String name, EventBus bus) {
    this.name = name;
    this.bus = bus;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int maxBatch() {
    return 100;
  }

  /** The admin store keeps the key's hash and masked form only: the raw key does not travel there. */
  @Override
  public JsonObject payload(UsageRecord record) {
    return record.withoutRawKey().toJson();
  }

  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    if (payloads.isEmpty()) {
      return Future.succeededFuture();
    }
    JsonObject body = new JsonObject().put("records", new JsonArray(List.copyOf(payloads)));
    return bus.request(Addresses.USAGE_STORE, body, new DeliveryOptions().setSendTimeout(REPLY_TIMEOUT_MS))
        .mapEmpty();
  }
}
