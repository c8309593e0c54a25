package dev.llmproxy.common.model;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;

/**
 * JSON written field by field with Jackson's generator straight to UTF-8: the same text as the {@link JsonObject}'s
 * encoding of the same fields, without the map, the string and its copy to bytes in between. The usage journal writes
 * each record this way, a webhook each payload.
 */
public final class StreamedJson implements UsageRecord.Fields {

  /** Characters beyond the BMP written as UTF-8, not as an escaped surrogate pair: as the object's encoding has them. */
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

  /** Each thread's characters of an instant being written (the longest: {@code 9999-12-31T23:59:59.999999999Z}). */
  private static final ThreadLocal<char[]> INSTANT = ThreadLocal.withInitial(() -> new char[30]);

  /** 10000-01-01T00:00:00Z: from there {@link Instant#toString()} writes a sign and more digits. */
  private static final long YEAR_10000 = 253402300800L;

  private final JsonGenerator out;

  /** Fields written as members of the object {@code out} is in. */
  public StreamedJson(JsonGenerator out) {
    this.out = out;
  }

  /**
   * A generator writing UTF-8 into {@code out}, with nothing between root values (several texts may follow each
   * other with the caller's own bytes between them: flush the generator before writing those).
   */
  public static JsonGenerator generator(OutputStream out) throws IOException {
    JsonGenerator generator = FACTORY.createGenerator(out, JsonEncoding.UTF8);
    generator.setRootValueSeparator(null);
    return generator;
  }

  /**
   * One record as a JSON object: {@link UsageRecord#toJson()}'s text, the raw key left out unless {@code withRawKey},
   * and {@code extraName} (when not null) after the record's own fields.
   */
  public static void writeRecord(JsonGenerator out, UsageRecord record, boolean withRawKey, String extraName,
      String extraValue) throws IOException {
    out.writeStartObject();
    record.writeFields(new StreamedJson(out), withRawKey);
    if (extraName != null) {
      out.writeStringField(extraName, extraValue);
    }
    out.writeEndObject();
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

  /** {@link Instant#toString()}'s text, written without a formatter, a date object or a string in between. */
  @Override
  public void put(String name, Instant value) throws IOException {
    long seconds = value.getEpochSecond();
    if (seconds < 0 || seconds >= YEAR_10000) {
      out.writeStringField(name, value.toString());
      return;
    }
    char[] text = INSTANT.get();
    int length = isoInstant(seconds, value.getNano(), text);
    out.writeFieldName(name);
    out.writeString(text, 0, length);
  }

  /**
   * {@code yyyy-MM-ddTHH:mm:ss[.fraction]Z} of an instant from 1970 to 9999 into {@code text}, the fraction in
   * groups of three digits as {@link Instant#toString()} has it (none, milli, micro or nano). @return its length
   */
  static int isoInstant(long epochSecond, int nano, char[] text) {
    long days = Math.floorDiv(epochSecond, 86_400);
    int secondOfDay = (int) Math.floorMod(epochSecond, 86_400);
    // Days to a civil date (H. Hinnant's algorithm, proleptic Gregorian, eras of 400 years from 0000-03-01).
    long z = days + 719_468;
    long era = Math.floorDiv(z, 146_097);
    long dayOfEra = z - era * 146_097;
    long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
    long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    long monthIndex = (5 * dayOfYear + 2) / 153;
    int day = (int) (dayOfYear - (153 * monthIndex + 2) / 5 + 1);
    int month = (int) (monthIndex < 10 ? monthIndex + 3 : monthIndex - 9);
    int year = (int) (yearOfEra + era * 400 + (month <= 2 ? 1 : 0));
    digits(text, 0, year, 4);
    text[4] = '-';
    digits(text, 5, month, 2);
    text[7] = '-';
    digits(text, 8, day, 2);
    text[10] = 'T';
    digits(text, 11, secondOfDay / 3600, 2);
    text[13] = ':';
    digits(text, 14, secondOfDay / 60 % 60, 2);
    text[16] = ':';
    digits(text, 17, secondOfDay % 60, 2);
    int at = 19;
    if (nano != 0) {
      text[at++] = '.';
      if (nano % 1_000_000 == 0) {
        digits(text, at, nano / 1_000_000, 3);
        at += 3;
      } else if (nano % 1000 == 0) {
        digits(text, at, nano / 1000, 6);
        at += 6;
      } else {
        digits(text, at, nano, 9);
        at += 9;
      }
    }
    text[at++] = 'Z';
    return at;
  }

  /** {@code value} in {@code count} decimal digits, zero-padded, at {@code at}. */
  private static void digits(char[] text, int at, int value, int count) {
    for (int i = at + count - 1; i >= at; i--) {
      text[i] = (char) ('0' + value % 10);
      value /= 10;
    }
  }
}
