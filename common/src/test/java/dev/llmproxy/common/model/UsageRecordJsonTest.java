package dev.llmproxy.common.model;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The journal's streamed encoding of a record is byte for byte its JSON object's encoding. */
class UsageRecordJsonTest {

  private static UsageRecord full() {
    return new UsageRecord("req-1", "sk-raw-0123456789abcdef", "static", "na\"me \\ é 😀", null, "gpt-4o",
        12, 34, 46, true, "POST", "/v1/chat/completions", Instant.parse("2026-12-02T17:45:01.123456Z"),
        "http://127.0.0.1:9000", 200, 1234, 56, true, false, "10.0.0.1\n", null, null, true,
        new JsonObject().put("team", "a").put("n", 3).put("nested", new JsonObject().put("x", "\u0001")), "quota_exceeded");
  }

  @Test
  void streamedBytesAreTheObjectsEncoding() {
    UsageRecord record = full();
    assertEquals(record.toJson().encode(), new String(record.toJsonBytes(null, null), StandardCharsets.UTF_8));
  }

  @Test
  void aRecordWithoutKeyMetadataOrCutOffToo() {
    UsageRecord record = new UsageRecord("req-2", null, null, null, null, null, 0, 0, 0, false, "GET", "/v1/models",
        Instant.parse("2026-12-02T00:00:00Z"), null, 404, 0, -1, false, true, null);
    assertEquals(record.toJson().encode(), new String(record.toJsonBytes(null, null), StandardCharsets.UTF_8));
  }

  @Test
  void theExtraFieldComesLast() {
    UsageRecord record = full().withoutRawKey();
    String streamed = new String(record.toJsonBytes("api_key_sealed", "c2VhbGVk"), StandardCharsets.UTF_8);
    assertEquals(record.toJson().put("api_key_sealed", "c2VhbGVk").encode(), streamed);
    assertEquals(record, UsageRecord.fromJson(new JsonObject(streamed)));
  }
}
