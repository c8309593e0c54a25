package dev.llmproxy.admin.sqlite;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Times as the admin store writes them: RFC 3339 in UTC with exactly three fraction digits, so that text order is
 * time order and SQL can compare them as strings. {@link #NORMALISE_SQL} turns other spellings SQLite understands
 * (the original's {@code 2024-01-02 15:04:05.999999999+08:00}) into the same form.
 */
public final class Times {

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  /** SQL for column {@code %1$s} in the store's form; NULL when SQLite cannot read the value as a time. */
  public static final String NORMALISE_SQL = "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', %1$s)";

  private Times() {
  }

  public static String format(Instant instant) {
    return FORMAT.format(instant);
  }

  public static String now() {
    return format(Instant.now());
  }

  /**
   * An UPDATE that rewrites {@code column} of {@code table} in the store's form where it is not already in it and
   * SQLite can read it; values it cannot read are left as they are.
   */
  public static String normaliseColumn(String table, String column) {
    String normalised = NORMALISE_SQL.formatted(column);
    return "UPDATE " + table + " SET " + column + " = " + normalised + " WHERE typeof(" + column + ") = 'text' AND "
        + column + " NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"
        + " AND " + normalised + " IS NOT NULL";
  }
}
