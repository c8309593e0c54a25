package dev.llmproxy.usage.journal;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.json.JsonObject;

/**
 * One record of the journal: its sequence number (from 1, never reused), the usage record's JSON as read from disk
 * (null while it is still in memory), and the record itself: the one received while still in memory (then nobody
 * has to read it back from its JSON), or the one rebuilt from disk with its raw key recovered ({@link JournalKeys}).
 */
public record JournalEntry(long seq, JsonObject record, UsageRecord usage) {

  public JournalEntry(long seq, JsonObject record) {
    this(seq, record, null);
  }

  /** The record's JSON as the journal holds it on disk (never the raw key in clear). */
  @Override
  public JsonObject record() {
    return record != null ? record : usage.withoutRawKey().toJson();
  }

  /** True when the entry was read back from disk rather than served from memory. */
  public boolean fromDisk() {
    return record != null;
  }

  /** The usage record, rebuilt from its JSON when it was read from disk. */
  public UsageRecord usageRecord() {
    return usage != null ? usage : UsageRecord.fromJson(record);
  }
}
