package dev.llmproxy.admin.api;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.common.util.IpRanges;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks the editable fields of a {@code create} or {@code update} body and turns them into column values:
 * times normalised to RFC 3339 UTC, status to the original's integer, IP lists and metadata to JSON text.
 * Fields it does not know are ignored (clients of the original send more than we read).
 */
public final class KeyInput {

  private static final int MAX_KEY_LENGTH = 512;
  /**
   * The largest quota, rpm or tpm: JSON's largest exact integer (2^53 - 1), which every client can send back as it
   * received it, and far from where adding a request's tokens could overflow a long.
   */
  static final long MAX_COUNT = 9_007_199_254_740_991L;
  private static final List<String> PERIODS = List.of("never", "daily", "weekly", "monthly");

  private KeyInput() {
  }

  /** The plain key of a body; {@code required} false gives null when absent. */
  public static String key(JsonObject body, boolean required) {
    Object value = body.getValue("key");
    if (value == null) {
      if (required) {
        throw AdminError.badRequest("key is required");
      }
      return null;
    }
    if (!(value instanceof String key) || key.isBlank()) {
      throw AdminError.badRequest("key must be a non-empty string");
    }
    if (key.length() > MAX_KEY_LENGTH) {
      throw AdminError.badRequest("key must be at most " + MAX_KEY_LENGTH + " characters");
    }
    return key;
  }

  /**
   * The stored hash of the key a body names: {@code key_hash} (what {@code list} shows, so that a key can be managed
   * without its plain value, as the console does) or the plain {@code key}.
   */
  public static String hash(JsonObject body) {
    Object given = body.getValue("key_hash");
    if (given == null) {
      return KeyDigest.sha256Hex(key(body, true));
    }
    if (!(given instanceof String hash) || !hash.matches("[0-9a-fA-F]{64}")) {
      throw AdminError.badRequest("key_hash must be 64 hexadecimal digits");
    }
    if (body.containsKey("key")) {
      throw AdminError.badRequest("give key or key_hash, not both");
    }
    return hash.toLowerCase(Locale.ROOT);
  }

  /** {@code list}'s optional {@code search}: part of a name, user id or key prefix; null when absent or blank. */
  public static String search(JsonObject body) {
    Object value = body.getValue("search");
    if (value == null) {
      return null;
    }
    if (!(value instanceof String text) || text.length() > 200) {
      throw AdminError.badRequest("search must be a string of at most 200 characters");
    }
    return text.isBlank() ? null : text.strip();
  }

  /** The columns the body sets, in a stable order; a field present with null clears it. */
  public static Map<String, Object> columns(JsonObject body) {
    Map<String, Object> columns = new LinkedHashMap<>();
    text(body, "name", columns);
    text(body, "user_id", columns);
    if (body.containsKey("status")) {
      columns.put("status", status(body.getValue("status")));
    }
    time(body, "starts_at", columns);
    time(body, "expires_at", columns);
    count(body, "total_quota", columns);
    count(body, "used_quota", columns);
    if (body.containsKey("quota_reset_period")) {
      columns.put("quota_reset_period", period(body.getValue("quota_reset_period")));
    }
    time(body, "last_reset_at", columns);
    ips(body, "allowed_ips", columns);
    ips(body, "denied_ips", columns);
    count(body, "rpm", columns);
    count(body, "tpm", columns);
    count(body, "max_concurrent", columns, Integer.MAX_VALUE);
    if (body.containsKey("metadata")) {
      Object value = body.getValue("metadata");
      if (value != null && !(value instanceof JsonObject)) {
        throw AdminError.badRequest("metadata must be an object");
      }
      columns.put("metadata", value == null ? null : ((JsonObject) value).encode());
    }
    return columns;
  }

  /** The original's integers (0 active, 1 disabled, 2 quota exceeded, 3 expired) or their names. */
  static int status(Object value) {
    if (value instanceof Number) {
      return (int) WholeNumber.of(value, "status", 0, 3);
    }
    if (value instanceof String s) {
      switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "0", "active", "enabled":
          return 0;
        case "1", "disabled", "inactive":
          return 1;
        case "2", "quota_exceeded":
          return 2;
        case "3", "expired":
          return 3;
        default:
          break;
      }
    }
    throw AdminError.badRequest("status must be 0-3 or one of active, disabled, quota_exceeded, expired");
  }

  private static String period(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof String s && PERIODS.contains(s.toLowerCase(Locale.ROOT))) {
      return s.toLowerCase(Locale.ROOT);
    }
    throw AdminError.badRequest("quota_reset_period must be one of " + String.join(", ", PERIODS));
  }

  private static void text(JsonObject body, String field, Map<String, Object> columns) {
    if (!body.containsKey(field)) {
      return;
    }
    Object value = body.getValue(field);
    if (value != null && !(value instanceof String)) {
      throw AdminError.badRequest(field + " must be a string");
    }
    columns.put(field, value);
  }

  /** RFC 3339; an empty string or null clears the time (no expiry, for instance). */
  private static void time(JsonObject body, String field, Map<String, Object> columns) {
    if (!body.containsKey(field)) {
      return;
    }
    Object value = body.getValue(field);
    if (value == null || "".equals(value)) {
      columns.put(field, null);
      return;
    }
    if (!(value instanceof String s)) {
      throw AdminError.badRequest(field + " must be an RFC 3339 time string");
    }
    try {
      columns.put(field, OffsetDateTime.parse(s).toInstant().toString());
    } catch (DateTimeParseException e) {
      throw AdminError.badRequest(field + " is not an RFC 3339 time: " + s);
    }
  }

  private static void count(JsonObject body, String field, Map<String, Object> columns) {
    count(body, field, columns, MAX_COUNT);
  }

  private static void count(JsonObject body, String field, Map<String, Object> columns, long max) {
    if (!body.containsKey(field)) {
      return;
    }
    Object value = body.getValue(field);
    if (value == null) {
      columns.put(field, null);
      return;
    }
    columns.put(field, WholeNumber.of(value, field, 0, max));
  }

  private static void ips(JsonObject body, String field, Map<String, Object> columns) {
    if (!body.containsKey(field)) {
      return;
    }
    Object value = body.getValue(field);
    if (value == null) {
      columns.put(field, null);
      return;
    }
    if (!(value instanceof JsonArray array) || array.stream().anyMatch(v -> !(v instanceof String))) {
      throw AdminError.badRequest(field + " must be an array of IP addresses or CIDR ranges");
    }
    try {
      IpRanges.parse(array.stream().map(String.class::cast).toList());
    } catch (IllegalArgumentException e) {
      throw AdminError.badRequest(field + ": " + e.getMessage());
    }
    columns.put(field, array.encode());
  }
}
