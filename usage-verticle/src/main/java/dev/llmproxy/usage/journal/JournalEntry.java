package dev.llmproxy.usage.journal;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.json.JsonObject;

/**
 * One record of the journal: its sequence number (from 1, never reused) and either the usage record's JSON, as read
 * from disk, or the record itself, while it is still in memory (then nobody has to read it back from its JSON).
 */
public record JournalEntry(long seq, JsonObject record, UsageRecord usage) {

  public JournalEntry(long seq, JsonObject record) {
    this(seq, record, null);
  }

  /** The record's JSON as the journal holds it. */
  @Override
  public JsonObject record() {
    return record != null ? record : usage.toJson();
  }

  /** The usage record, rebuilt from its JSON when it was read from disk. */
  public UsageRecord usageRecord() {
    return usage != null ? usage : UsageRecord.fromJson(record);
  }
}
