package dev.llmproxy.common.model;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The journal's streamed encoding of a record is byte for byte its JSON object's encoding. */
class UsageRecordJsonTest {

  private static UsageRecord full() {
    return new UsageRecord("req-1", "sk-raw-0123456789abcdef", "static", "na\"me \\ é 😀", null, "gpt-4o",
        12, 34, 46, true, "POST", "/v1/chat/completions", Instant.parse("2026-12-02T17:45:01.123456Z"),
        "http://127.0.0.1:9000", 200, 1234, 56, true, false, "10.0.0.1\n", null, null, true,
        new JsonObject().put("team", "a").put("n", 3).put("nested", new JsonObject().put("x", "\u0001")), "quota_exceeded");
  }

  /** The record as {@link StreamedJson#writeRecord} writes it, raw key included, as UTF-8 text. */
  private static String streamed(UsageRecord record, String extraName, String extraValue) {
    com.fasterxml.jackson.core.util.ByteArrayBuilder bytes = new com.fasterxml.jackson.core.util.ByteArrayBuilder();
    try (com.fasterxml.jackson.core.JsonGenerator out = StreamedJson.generator(bytes)) {
      StreamedJson.writeRecord(out, record, true, extraName, extraValue);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
  }

  @Test
  void streamedBytesAreTheObjectsEncoding() {
    UsageRecord record = full();
    assertEquals(record.toJson().encode(), streamed(record, null, null));
  }

  @Test
  void aRecordWithoutKeyMetadataOrCutOffToo() {
    UsageRecord record = new UsageRecord("req-2", null, null, null, null, null, 0, 0, 0, false, "GET", "/v1/models",
        Instant.parse("2026-12-02T00:00:00Z"), null, 404, 0, -1, false, true, null);
    assertEquals(record.toJson().encode(), streamed(record, null, null));
  }

  @Test
  void theExtraFieldComesLast() {
    UsageRecord record = full().withoutRawKey();
    String streamed = streamed(record, "api_key_sealed", "c2VhbGVk");
    assertEquals(record.toJson().put("api_key_sealed", "c2VhbGVk").encode(), streamed);
    assertEquals(record, UsageRecord.fromJson(new JsonObject(streamed)));
  }

  @Test
  void withoutTheRawKeyIsWhatTheCopyWithoutItWrites() throws Exception {
    UsageRecord record = full();
    com.fasterxml.jackson.core.util.ByteArrayBuilder bytes = new com.fasterxml.jackson.core.util.ByteArrayBuilder();
    try (com.fasterxml.jackson.core.JsonGenerator out = StreamedJson.generator(bytes)) {
      StreamedJson.writeRecord(out, record, false, "api_key_sealed", "c2VhbGVk");
    }
    assertEquals(record.withoutRawKey().toJson().put("api_key_sealed", "c2VhbGVk").encode(),
        new String(bytes.toByteArray(), StandardCharsets.UTF_8));
  }

  /** The instant is written without a formatter: its text must be {@link Instant#toString()}'s, whatever the instant. */
  @Test
  void instantsAreWrittenAsInstantToStringWritesThem() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(18);
    char[] text = new char[30];
    List<Instant> instants = new java.util.ArrayList<>(List.of(Instant.EPOCH, Instant.parse("2000-02-29T23:59:59.999999999Z"),
        Instant.parse("1972-12-31T23:59:59Z"), Instant.parse("2100-03-01T00:00:00.001Z"),
        Instant.parse("2400-02-29T12:00:00.000001Z"), Instant.parse("9999-12-31T23:59:59.100Z"),
        Instant.parse("2026-12-03T08:15:00.120Z"), Instant.parse("2026-12-03T08:15:00.000120Z")));
    for (int i = 0; i < 200_000; i++) {
      long seconds = random.nextLong(253_402_300_800L);
      int nano = switch (i % 4) {
        case 0 -> 0;
        case 1 -> random.nextInt(1000) * 1_000_000;
        case 2 -> random.nextInt(1_000_000) * 1000;
        default -> random.nextInt(1_000_000_000);
      };
      instants.add(Instant.ofEpochSecond(seconds, nano));
    }
    for (Instant instant : instants) {
      int length = StreamedJson.isoInstant(instant.getEpochSecond(), instant.getNano(), text);
      assertEquals(instant.toString(), new String(text, 0, length));
    }
  }

  @Test
  void instantsOutsideTheFastRangeStillComeOutAsToStringHasThem() {
    for (Instant instant : List.of(Instant.parse("1969-12-31T23:59:59.5Z"), Instant.parse("+10000-01-01T00:00:00Z"))) {
      UsageRecord record = new UsageRecord("req-3", null, null, null, null, null, 0, 0, 0, false, "GET", "/v1/models",
          instant, null, 200, 0, -1, false, false, null);
      assertEquals(record.toJson().encode(), streamed(record, null, null));
    }
  }
}
