package dev.llmproxy.usage.journal;

import io.vertx.core.json.JsonObject;

/** One record of the journal: its sequence number (from 1, never reused) and the usage record's JSON. */
public record JournalEntry(long seq, JsonObject record) {
}
