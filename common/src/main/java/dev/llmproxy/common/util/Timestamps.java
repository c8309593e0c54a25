package dev.llmproxy.common.util;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Times as key stores hold them: RFC 3339 with or without offset or {@code T} (no offset means UTC), a bare date,
 * epoch seconds or milliseconds, or the driver's own date-time types. One reading for every place that judges a
 * key's validity or quota period.
 */
public final class Timestamps {

  private Timestamps() {
  }

  /** Any of the shapes above; empty for null, blank, zero or unreadable values. */
  public static Optional<Instant> of(Object value) {
    if (value == null) {
      return Optional.empty();
    }
    if (value instanceof Instant instant) {
      return Optional.of(instant);
    }
    if (value instanceof OffsetDateTime time) {
      return Optional.of(time.toInstant());
    }
    if (value instanceof ZonedDateTime time) {
      return Optional.of(time.toInstant());
    }
    if (value instanceof LocalDateTime time) {
      return Optional.of(time.toInstant(ZoneOffset.UTC));
    }
    if (value instanceof LocalDate date) {
      return Optional.of(date.atStartOfDay().toInstant(ZoneOffset.UTC));
    }
    if (value instanceof Number number) {
      return epoch(number.doubleValue());
    }
    String text = value.toString().trim();
    if (text.isEmpty()) {
      return Optional.empty();
    }
    if (text.matches("-?\\d+(\\.\\d+)?")) {
      return epoch(Double.parseDouble(text));
    }
    return parse(text);
  }

  /** Epoch seconds, or milliseconds when the number is too large to be seconds; nothing at or before 0. */
  private static Optional<Instant> epoch(double value) {
    if (value <= 0) {
      return Optional.empty();
    }
    return Optional.of(value > 1e11 ? Instant.ofEpochMilli((long) value) : Instant.ofEpochSecond((long) value));
  }

  /** RFC 3339 (a space for the {@code T} too), a local date-time taken as UTC, or a date. */
  public static Optional<Instant> parse(String text) {
    String iso = text.replaceFirst(" ", "T");
    try {
      return Optional.of(OffsetDateTime.parse(iso).toInstant());
    } catch (DateTimeParseException e) {
      // try the next shape
    }
    try {
      return Optional.of(LocalDateTime.parse(iso).toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException e) {
      // try the next shape
    }
    try {
      return Optional.of(LocalDate.parse(text).atStartOfDay().toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }
}
