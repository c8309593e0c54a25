package dev.llmproxy.common.model;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON written field by field with Jackson's generator straight to UTF-8: the same text as the {@link JsonObject}'s
 * encoding of the same fields, without the map, the string and its copy to bytes in between. The usage journal writes
 * each record this way, a webhook each payload.
 */
public final class StreamedJson implements UsageRecord.Fields {

  /** Characters beyond the BMP written as UTF-8, not as an escaped surrogate pair: as the object's encoding has them. */
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

  /** Each thread's buffer, kept between texts: only the text's own bytes are new. */
  private static final ThreadLocal<ByteArrayBuilder> BUFFER = ThreadLocal.withInitial(() -> new ByteArrayBuilder(4096));

  /** What writes one JSON text through the generator. */
  @FunctionalInterface
  public interface Text {
    void write(JsonGenerator out) throws IOException;
  }

  private final JsonGenerator out;

  /** Fields written as members of the object {@code out} is in. */
  public StreamedJson(JsonGenerator out) {
    this.out = out;
  }

  /** The UTF-8 bytes of what {@code text} writes (in memory: an {@link IOException} is not expected). */
  public static byte[] write(Text text) {
    ByteArrayBuilder bytes = BUFFER.get();
    bytes.reset();
    try (JsonGenerator generator = FACTORY.createGenerator(bytes, JsonEncoding.UTF8)) {
      text.write(generator);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static byte[] encode(UsageRecord record, String extraName, String extraValue) {
    return write(out -> {
      out.writeStartObject();
      record.writeFields(new StreamedJson(out));
      if (extraName != null) {
        out.writeStringField(extraName, extraValue);
      }
      out.writeEndObject();
    });
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
    JacksonCodec.encodeJson(value, out);
  }
}
