package dev.llmproxy.admin.usage;

import dev.llmproxy.admin.api.AdminError;
import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.admin.sqlite.Times;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@code /admin/usage/query} body read and checked: filters by key (the plain key, or its SHA-256 as the key
 * records show it), user, model and time, and an optional grouping. {@code start} and {@code end} are RFC 3339 times
 * (a time without offset is UTC) or dates; both ends are inclusive, a date {@code end} up to the end of that day.
 */
public record UsageQuery(List<String> conditions, List<Object> parameters, GroupBy groupBy) {

  private static final int MAX_FILTER_LENGTH = 512;

  /** What the totals may be grouped by, with the SQL that makes each group's label. */
  public enum GroupBy {
    DAY("day", "substr(created_at, 1, 10) AS grp"),
    MODEL("model", "model AS grp"),
    KEY("key", "key_hash AS grp, MAX(api_key) AS masked_key, MAX(key_name) AS key_name"),
    USER("user", "user_id AS grp");

    final String name;
    private final String select;

    GroupBy(String name, String select) {
      this.name = name;
      this.select = select;
    }

    String select() {
      return select;
    }

    String column() {
      return "grp";
    }

    JsonObject label(Row row) {
      JsonObject label = new JsonObject().put(name, row.getValue("grp"));
      if (this == KEY) {
        label.put("key", row.getString("masked_key")).put("key_hash", row.getValue("grp"))
            .put("key_name", row.getString("key_name"));
      }
      return label;
    }

    static GroupBy of(String name) {
      for (GroupBy g : values()) {
        if (g.name.equals(name.toLowerCase(Locale.ROOT))) {
          return g;
        }
      }
      throw AdminError.badRequest("group_by must be one of day, model, key, user");
    }
  }

  public static UsageQuery parse(JsonObject body) {
    List<String> conditions = new ArrayList<>();
    List<Object> parameters = new ArrayList<>();
    String key = text(body, "key");
    if (key != null) {
      String hash = KeyDigest.sha256Hex(key);
      String given = key.toLowerCase(Locale.ROOT);
      conditions.add("key_hash IN (?, ?)");
      parameters.add(hash);
      parameters.add(given.matches("[0-9a-f]{64}") ? given : hash);
    }
    String user = text(body, body.containsKey("user_id") ? "user_id" : "user");
    if (user != null) {
      conditions.add("user_id = ?");
      parameters.add(user);
    }
    String model = text(body, "model");
    if (model != null) {
      conditions.add("model = ?");
      parameters.add(model);
    }
    Instant start = null;
    String startText = text(body, "start");
    if (startText != null) {
      start = time(startText, "start", false);
      conditions.add("created_at >= ?");
      parameters.add(Times.format(start));
    }
    String endText = text(body, "end");
    if (endText != null) {
      Instant end = time(endText, "end", true);
      if (start != null && end.isBefore(start)) {
        throw AdminError.badRequest("end is before start");
      }
      conditions.add("created_at <= ?");
      parameters.add(Times.format(end));
    }
    String group = text(body, "group_by");
    return new UsageQuery(conditions, parameters, group == null || group.isEmpty() ? null : GroupBy.of(group));
  }

  String where() {
    return conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions);
  }

  private static String text(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String s)) {
      throw AdminError.badRequest(field + " must be a string");
    }
    if (s.length() > MAX_FILTER_LENGTH) {
      throw AdminError.badRequest(field + " must be at most " + MAX_FILTER_LENGTH + " characters");
    }
    return s;
  }

  /** A date is its first millisecond, or its last when it ends the range. */
  private static Instant time(String text, String field, boolean end) {
    try {
      if (text.length() == 10) {
        LocalDate day = LocalDate.parse(text);
        return end ? day.plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC).minusMillis(1)
            : day.atStartOfDay().toInstant(ZoneOffset.UTC);
      }
      try {
        return OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException e) {
        return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
      }
    } catch (DateTimeParseException e) {
      throw AdminError.badRequest(field + " is not an RFC 3339 time or a date (YYYY-MM-DD): " + text);
    }
  }
}
