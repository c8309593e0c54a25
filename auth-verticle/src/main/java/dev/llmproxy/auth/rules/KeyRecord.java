package dev.llmproxy.auth.rules;

import dev.llmproxy.common.util.Timestamps;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Typed reads of a key record as stores give it: Redis hashes hold only strings, SQL rows hold numbers and
 * timestamps, JSON holds either. Every getter accepts all of these shapes.
 */
public final class KeyRecord {

  private final JsonObject fields;

  public KeyRecord(JsonObject fields) {
    this.fields = fields == null ? new JsonObject() : fields;
  }

  public JsonObject fields() {
    return fields;
  }

  public Optional<String> string(String name) {
    Object v = fields.getValue(name);
    if (v == null) {
      return Optional.empty();
    }
    String s = String.valueOf(v).trim();
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  /** A number, from a number, a numeric string or a boolean; empty when absent or not numeric. */
  public Optional<Double> number(String name) {
    Object v = fields.getValue(name);
    if (v instanceof Number n) {
      return Optional.of(n.doubleValue());
    }
    if (v instanceof Boolean b) {
      return Optional.of(b ? 1.0 : 0.0);
    }
    return string(name).flatMap(s -> {
      try {
        return Optional.of(Double.parseDouble(s));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    });
  }

  public Optional<Long> whole(String name) {
    return number(name).map(Double::longValue);
  }

  /**
   * A point in time: RFC 3339, {@code yyyy-MM-dd HH:mm:ss} (UTC, as SQL gives it), a date, or unix seconds
   * (milliseconds when the number is too large to be seconds). Empty strings, 0 and nulls are "not set".
   */
  public Optional<Instant> instant(String name) {
    return Timestamps.of(fields.getValue(name));
  }

  /** A list of strings: a JSON array, a JSON array in a string, or a comma-separated string. */
  public List<String> strings(String name) {
    Object v = fields.getValue(name);
    List<String> out = new ArrayList<>();
    if (v instanceof JsonArray array) {
      array.forEach(o -> add(out, o));
      return out;
    }
    Optional<String> text = string(name);
    if (text.isEmpty()) {
      return out;
    }
    String s = text.get();
    if (s.startsWith("[")) {
      try {
        new JsonArray(s).forEach(o -> add(out, o));
        return out;
      } catch (DecodeException e) {
        // not JSON: read as a list separated by commas
      }
    }
    for (String part : s.split("[,\\s]+")) {
      add(out, part);
    }
    return out;
  }

  /** An object: a JSON object or a JSON object in a string. */
  public Optional<JsonObject> object(String name) {
    Object v = fields.getValue(name);
    if (v instanceof JsonObject json) {
      return Optional.of(json);
    }
    return string(name).filter(s -> s.startsWith("{")).flatMap(s -> {
      try {
        return Optional.of(new JsonObject(s));
      } catch (DecodeException e) {
        return Optional.empty();
      }
    });
  }

  private static void add(List<String> out, Object o) {
    if (o != null && !String.valueOf(o).isBlank()) {
      out.add(String.valueOf(o).trim());
    }
  }
}
