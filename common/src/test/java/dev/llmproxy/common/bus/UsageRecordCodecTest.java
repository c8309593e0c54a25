package dev.llmproxy.common.bus;

import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class UsageRecordCodecTest {

  private final UsageRecord record = new UsageRecord("req_1", "sk-secret-123456", "static", "Team", "u1", "llama", 7, 8, 15,
      true, "POST", "/v1/chat/completions", Instant.parse("2026-11-22T10:00:00Z"), "http://b:8000", 200, 120, 30,
      false, true, "10.0.0.1");

  @Test
  void aCachedRecordCrossesTheWireAsCachedAndAnOlderRecordReadsAsNotCached() {
    UsageRecordCodec codec = new UsageRecordCodec();
    Buffer wire = Buffer.buffer();
    codec.encodeToWire(wire, record.asCached());
    UsageRecord back = codec.decodeFromWire(0, wire);
    org.junit.jupiter.api.Assertions.assertTrue(back.cached());
    org.junit.jupiter.api.Assertions.assertEquals(record.asCached(), back.withRawKey(record.apiKey()));
    io.vertx.core.json.JsonObject older = record.toJson();
    older.remove("cached");
    org.junit.jupiter.api.Assertions.assertFalse(UsageRecord.fromJson(older).cached());
  }

  @Test
  void localDeliveryHandsOverTheSameRecord() {
    assertSame(record, new UsageRecordCodec().transform(record));
  }

  @Test
  void theWireFormatRoundTrips() {
    UsageRecordCodec codec = new UsageRecordCodec();
    Buffer wire = Buffer.buffer("xx");
    codec.encodeToWire(wire, record);
    assertEquals(record, codec.decodeFromWire(2, wire));
  }

  @Test
  void aBatchRoundTripsOnTheWireInOrderAndIsHandedOverAsItIsWithinTheJvm() {
    UsageBatch batch = new UsageBatch(java.util.List.of(record, record.asCached(), record.withCutOff("quota_exceeded")));
    UsageRecordCodec.BatchCodec codec = new UsageRecordCodec.BatchCodec();
    Buffer wire = Buffer.buffer("xx");
    codec.encodeToWire(wire, batch);
    assertEquals(batch, codec.decodeFromWire(2, wire));
    assertSame(batch, codec.transform(batch));
  }

  @Test
  void theHooksMetadataTravelsOnTheWire() {
    UsageRecord withMetadata = record.withMetadata(new JsonObject().put("team", "blue").put("trace", 7));
    UsageRecordCodec codec = new UsageRecordCodec();
    Buffer wire = Buffer.buffer();
    codec.encodeToWire(wire, withMetadata);
    UsageRecord decoded = codec.decodeFromWire(0, wire);
    assertEquals(withMetadata, decoded);
    assertEquals("blue", decoded.metadata().getString("team"));
  }

  @Test
  void aRecordWrittenBeforeMetadataExistedReadsBackWithNone() {
    JsonObject old = record.toJson();
    old.remove("metadata");
    assertEquals(null, UsageRecord.fromJson(old).metadata());
    assertEquals(record, UsageRecord.fromJson(old.put("metadata", "not an object")));
  }
}
