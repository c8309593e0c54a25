package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Reads one mapping of the raw config at a known path. Typed getters fall back to a default when the
 * key is absent and record an error (naming the full path) when the value has the wrong shape; keys
 * nobody asked for are reported as unknown once the section has been read.
 */
final class ConfigReader {

  private final JsonObject json;
  private final String path;
  private final Problems problems;
  private final Set<String> consumed = new HashSet<>();

  private ConfigReader(JsonObject json, String path, Problems problems) {
    this.json = json;
    this.path = path;
    this.problems = problems;
  }

  /** Reads the whole document with {@code read}, then warns about unknown top-level keys. */
  static <T> T readRoot(JsonObject json, Problems problems, Function<ConfigReader, T> read) {
    ConfigReader reader = new ConfigReader(json, "", problems);
    T result = read.apply(reader);
    reader.warnUnknown();
    return result;
  }

  /** The value a section has when its key is absent: its defaults. */
  static <T> T defaults(Function<ConfigReader, T> read) {
    return read.apply(new ConfigReader(new JsonObject(), "", new Problems()));
  }

  String path() {
    return path;
  }

  String path(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  Problems problems() {
    return problems;
  }

  boolean has(String key) {
    return json.getValue(key) != null;
  }

  private Object raw(String key) {
    consumed.add(key);
    return json.getValue(key);
  }

  void warnUnknown() {
    for (String key : json.fieldNames()) {
      if (!consumed.contains(key)) {
        String nearest = nearestKnown(key);
        String shown = key.length() > QUOTED_MAX ? quote(key) : key;
        problems.warn(path(shown), nearest == null ? "unknown field" : "unknown field; did you mean `" + nearest + "`?");
      }
    }
  }

  /** The field this section knows that {@code key} is most likely a typo of: at most two edits away, else null. */
  private String nearestKnown(String key) {
    String best = null;
    int bestDistance = 3;
    for (String known : consumed) {
      if (Math.abs(known.length() - key.length()) >= bestDistance) {
        continue;
      }
      int distance = editDistance(key.toLowerCase(java.util.Locale.ROOT), known);
      // A short key two edits away is another word, not a typo.
      if (distance < bestDistance && distance * 2 < known.length()) {
        best = known;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** Levenshtein distance (insertions, deletions, substitutions). */
  static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  // ---- scalars -------------------------------------------------------------------------------

  String string(String key, String fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof JsonObject || v instanceof JsonArray) {
      problems.error(path(key), "must be a string");
      return fallback;
    }
    return scalarText(v);
  }

  boolean bool(String key, boolean fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    String s = scalarText(v).trim();
    if (s.equalsIgnoreCase("true")) {
      return true;
    }
    if (s.equalsIgnoreCase("false")) {
      return false;
    }
    problems.error(path(key), "not a boolean (" + quote(v) + ")");
    return fallback;
  }

  int integer(String key, int fallback) {
    long value = longValue(key, fallback);
    if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
      problems.error(path(key), "out of range (" + value + ")");
      return fallback;
    }
    return (int) value;
  }

  long longValue(String key, long fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return n.longValue();
    }
    try {
      return Long.parseLong(scalarText(v).trim());
    } catch (NumberFormatException e) {
      problems.error(path(key), "not an integer (" + quote(v) + ")");
      return fallback;
    }
  }

  double decimal(String key, double fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    Optional<Double> d = toDouble(v);
    if (d.isEmpty()) {
      problems.error(path(key), "not a number (" + quote(v) + ")");
      return fallback;
    }
    return d.get();
  }

  Duration duration(String key, Duration fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Number n) {
      Optional<Duration> seconds = Durations.ofSeconds(n.doubleValue());
      if (seconds.isEmpty()) {
        problems.error(path(key), n.doubleValue() < 0 ? "not a duration (" + quote(v) + ")"
            : "too long a duration (" + quote(v) + "); the longest is about 292 years");
        return fallback;
      }
      return seconds.get();
    }
    Optional<Duration> d = v instanceof JsonObject || v instanceof JsonArray ? Optional.empty()
        : Durations.parse(scalarText(v));
    if (d.isEmpty() && !(v instanceof JsonObject || v instanceof JsonArray) && Durations.tooLong(scalarText(v))) {
      problems.error(path(key), "too long a duration (" + quote(v) + "); the longest is about 292 years");
      return fallback;
    }
    if (d.isEmpty()) {
      problems.error(path(key), "not a duration (" + quote(v) + ")");
      return fallback;
    }
    return d.get();
  }

  /** RFC 3339 time; YAML may already have turned it into a date. Empty when absent or null. */
  Optional<Instant> instant(String key) {
    Object v = raw(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Instant i) {
      return Optional.of(i);
    }
    if (v instanceof Date d) {
      return Optional.of(d.toInstant());
    }
    String s = scalarText(v).trim();
    if (s.isEmpty() || s.equals("null")) {
      return Optional.empty();
    }
    try {
      return Optional.of(OffsetDateTime.parse(s).toInstant());
    } catch (DateTimeParseException e) {
      try {
        return Optional.of(Instant.parse(s));
      } catch (DateTimeParseException again) {
        problems.error(path(key), "not an RFC 3339 time (" + quote(v) + ")");
        return Optional.empty();
      }
    }
  }

  // ---- collections ---------------------------------------------------------------------------

  /** A YAML list, or (for environment overrides) one comma-separated string. */
  List<String> strings(String key, List<String> fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof JsonArray array) {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < array.size(); i++) {
        Object item = array.getValue(i);
        if (item == null || item instanceof JsonObject || item instanceof JsonArray) {
          problems.error(path(key) + "[" + i + "]", "must be a string");
        } else {
          out.add(scalarText(item));
        }
      }
      return out;
    }
    if (v instanceof JsonObject) {
      problems.error(path(key), "must be a list of strings");
      return fallback;
    }
    String s = scalarText(v).trim();
    return s.isEmpty() ? List.of() : Arrays.stream(s.split(",")).map(String::trim).toList();
  }

  List<Double> decimals(String key, List<Double> fallback) {
    return items(key, "must be a list of numbers", fallback, (item, itemPath) -> {
      Optional<Double> d = item == null ? Optional.empty() : toDouble(item);
      if (d.isEmpty()) {
        problems.error(itemPath, "not a number (" + quote(item) + ")");
      }
      return d;
    });
  }

  Map<String, String> stringMap(String key) {
    return entries(key, (item, itemPath) -> {
      if (item instanceof JsonObject || item instanceof JsonArray) {
        problems.error(itemPath, "must be a string");
        return Optional.empty();
      }
      return Optional.of(item == null ? "" : scalarText(item));
    });
  }

  /** Marks {@code key} as read without reading it (a field the caller warns about itself). */
  void ignore(String key) {
    raw(key);
  }

  /** A mapping taken as it is (values of any JSON type), empty when absent; an error when it is not a mapping. */
  JsonObject mapping(String key) {
    Object v = raw(key);
    if (v instanceof JsonObject o) {
      return o.copy();
    }
    if (v != null) {
      problems.error(path(key), "must be a mapping");
    }
    return new JsonObject();
  }

  /** A nested mapping read with {@code read}; its defaults when absent. */
  <T> T section(String key, Function<ConfigReader, T> read) {
    Object v = raw(key);
    JsonObject obj = new JsonObject();
    if (v instanceof JsonObject o) {
      obj = o;
    } else if (v != null) {
      problems.error(path(key), "must be a mapping");
    }
    return nested(obj, path(key), read);
  }

  /** A list of mappings; {@code fallback} when absent. */
  <T> List<T> list(String key, Function<ConfigReader, T> read, List<T> fallback) {
    return items(key, "must be a list", fallback, (item, itemPath) -> mappingRead(item, itemPath, read));
  }

  /** A mapping of names to sub-mappings, each read with {@code read}. */
  <T> Map<String, T> namedSections(String key, Function<ConfigReader, T> read) {
    return entries(key, (item, itemPath) -> mappingRead(item, itemPath, read));
  }

  /**
   * The items of the list at {@code key}, each made by {@code item} from its value and its path, or left out when
   * it makes none (it has reported why); {@code fallback} when absent, the error {@code notAList} when not a list.
   */
  private <T> List<T> items(String key, String notAList, List<T> fallback,
      BiFunction<Object, String, Optional<T>> item) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof JsonArray array)) {
      problems.error(path(key), notAList);
      return fallback;
    }
    List<T> out = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      item.apply(array.getValue(i), path(key) + "[" + i + "]").ifPresent(out::add);
    }
    return out;
  }

  /** As {@link #items}, for the entries of the mapping at {@code key} (empty when absent), by name. */
  private <T> Map<String, T> entries(String key, BiFunction<Object, String, Optional<T>> entry) {
    Object v = raw(key);
    Map<String, T> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof JsonObject obj)) {
      problems.error(path(key), "must be a mapping");
      return out;
    }
    for (String name : obj.fieldNames()) {
      entry.apply(obj.getValue(name), path(key) + "." + name).ifPresent(value -> out.put(name, value));
    }
    return out;
  }

  /** An item that must be a mapping, read with {@code read}; empty (with the error) when it is not one. */
  private <T> Optional<T> mappingRead(Object item, String itemPath, Function<ConfigReader, T> read) {
    if (!(item instanceof JsonObject obj)) {
      problems.error(itemPath, "must be a mapping");
      return Optional.empty();
    }
    return Optional.of(nested(obj, itemPath, read));
  }

  /** {@code read} over a mapping found at {@code at}, then a warning for each key it did not ask for. */
  private <T> T nested(JsonObject obj, String at, Function<ConfigReader, T> read) {
    ConfigReader child = new ConfigReader(obj, at, problems);
    T result = read.apply(child);
    child.warnUnknown();
    return result;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private static Optional<Double> toDouble(Object v) {
    if (v instanceof Number n) {
      return Optional.of(n.doubleValue());
    }
    if (v instanceof JsonObject || v instanceof JsonArray) {
      return Optional.empty();
    }
    try {
      return Optional.of(Double.parseDouble(scalarText(v).trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static String scalarText(Object v) {
    if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
      return String.valueOf(d.longValue());
    }
    if (v instanceof Date d) {
      return d.toInstant().toString();
    }
    return String.valueOf(v);
  }

  /** A value as an error quotes it: a long one cut, so that a megabyte of text is never echoed back. */
  static String quote(Object v) {
    String text = String.valueOf(v);
    if (text.length() > QUOTED_MAX) {
      text = text.substring(0, QUOTED_MAX) + "... (" + text.length() + " characters)";
    }
    return "\"" + text + "\"";
  }

  private static final int QUOTED_MAX = 60;
}
