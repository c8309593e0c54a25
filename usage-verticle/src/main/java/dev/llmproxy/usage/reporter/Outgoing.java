package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.json.JsonObject;

/**
 * One journal record on its way to a reporter: the record, and the payload its reporter's script made of it, or null
 * when no script ran. Without a script a reporter may write the record straight into what it sends ({@link
 * WebhookReporter} streams it into the request's body) rather than build the payload object first.
 */
public record Outgoing(UsageRecord record, JsonObject scripted) {

  /** A record no script has seen. */
  public static Outgoing of(UsageRecord record) {
    return new Outgoing(record, null);
  }

  /** What {@code reporter} sends for it: the script's payload, or the reporter's own. */
  public JsonObject payload(Reporter reporter) {
    return scripted != null ? scripted : reporter.payload(record);
  }

  /** The request id it goes by: the record's, or whatever a script left in the payload's {@code request_id}. */
  public String requestId() {
    if (scripted == null) {
      return record.requestId();
    }
    Object id = scripted.getValue("request_id");
    return id == null ? null : id.toString();
  }
}
