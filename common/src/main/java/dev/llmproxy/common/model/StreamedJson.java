package dev.llmproxy.common.model;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A usage record's JSON written field by field with Jackson's generator: the same text as its {@link JsonObject}'s
 * encoding, without the map, the string and its copy to bytes in between.
 */
final class StreamedJson implements UsageRecord.Fields {

  /** Characters beyond the BMP written as UTF-8, not as an escaped surrogate pair: as the object's encoding has them. */
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

  private final JsonGenerator out;

  private StreamedJson(JsonGenerator out) {
    this.out = out;
  }

  /** Each thread's buffer, kept between records: only the record's own bytes are new. */
  private static final ThreadLocal<ByteArrayBuilder> BUFFER = ThreadLocal.withInitial(() -> new ByteArrayBuilder(4096));

  static byte[] encode(UsageRecord record, String extraName, String extraValue) {
    ByteArrayBuilder bytes = BUFFER.get();
    bytes.reset();
    try (JsonGenerator generator = FACTORY.createGenerator(bytes, JsonEncoding.UTF8)) {
      generator.writeStartObject();
      record.writeFields(new StreamedJson(generator));
      if (extraName != null) {
        generator.writeStringField(extraName, extraValue);
      }
      generator.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // into memory: not expected
    }
    return bytes.toByteArray();
  }

  @Override
  public void put(String name, String value) throws IOException {
    if (value == null) {
      out.writeNullField(name);
    } else {
      out.writeStringField(name, value);
    }
  }

  @Override
  public void put(String name, long value) throws IOException {
    out.writeNumberField(name, value);
  }

  @Override
  public void put(String name, int value) throws IOException {
    out.writeNumberField(name, value);
  }

  @Override
  public void put(String name, boolean value) throws IOException {
    out.writeBooleanField(name, value);
  }

  @Override
  public void put(String name, JsonObject value) throws IOException {
    out.writeFieldName(name);
    out.writeRawValue(value.encode());
  }
}
