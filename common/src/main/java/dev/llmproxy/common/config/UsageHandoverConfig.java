package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code cluster.usage_handover} (ours): on a member that runs {@code proxy} but not {@code usage}, the usage records
 * of its requests go to a journal of its own first ({@code journalPath}; empty: {@code usage.journal_path} followed by
 * {@code -handover-<cluster.port>}, so that members sharing one file on one host do not share a folder), and are
 * handed to a usage member in journal order, each acknowledged once the usage member has it on disk. At most
 * {@code maxRecords} wait there while no usage member takes them; a record past that is refused, logged and counted,
 * never dropped silently. A hand-over not acknowledged within {@code ackTimeout} is sent again.
 */
public record UsageHandoverConfig(String journalPath, long maxRecords, Duration ackTimeout) {

  public static final long DEFAULT_MAX_RECORDS = 1_000_000;

  static UsageHandoverConfig read(ConfigReader r) {
    return new UsageHandoverConfig(
        r.string("journal_path", ""),
        r.longValue("max_records", DEFAULT_MAX_RECORDS),
        r.duration("ack_timeout", Duration.ofSeconds(10)));
  }

  /** The folder of the journal on a member whose cluster port is {@code clusterPort}. */
  public String journalPath(UsageConfig usage, int clusterPort) {
    return journalPath.isEmpty() ? usage.journalPath() + "-handover-" + clusterPort : journalPath;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("journal_path", journalPath)
        .put("max_records", maxRecords)
        .put("ack_timeout", JsonOut.duration(ackTimeout));
  }
}
