package dev.llmproxy.usage.journal;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.json.JsonObject;

/**
 * One record of the journal: its sequence number (from 1, never reused) and the usage record's JSON, with the record
 * itself when it was still in memory (then nobody has to read it back from its JSON).
 */
public record JournalEntry(long seq, JsonObject record, UsageRecord usage) {

  public JournalEntry(long seq, JsonObject record) {
    this(seq, record, null);
  }

  /** The usage record, rebuilt from its JSON when it was read from disk. */
  public UsageRecord usageRecord() {
    return usage != null ? usage : UsageRecord.fromJson(record);
  }
}
