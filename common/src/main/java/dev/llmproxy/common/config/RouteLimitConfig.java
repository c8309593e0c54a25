package dev.llmproxy.common.config;

import dev.llmproxy.common.util.RequestPath;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One entry of {@code rate_limit.routes} (seed 002: {@code "/v1/embeddings": "1000/minute"}): at most
 * {@code requests} requests on {@code path} per {@code per} (a sliding window of that length), counted apart for
 * each key (each client address for requests without a key).
 *
 * <p>{@code path} is normalised ({@link #normalise}): one trailing {@code /} dropped, as the gateway's own routing
 * does ({@code /v1/embeddings/} is the embeddings route), and letters lower-cased, so that no spelling a
 * case-insensitive backend would serve as the same route escapes the limit. It matches that one path, never a path
 * below it or one that merely starts with it.
 */
public record RouteLimitConfig(String path, long requests, Per per) {

  /** The window of a rate, and its name in a rate ({@code 1000/minute}) and in metric labels. */
  public enum Per {
    SECOND(Duration.ofSeconds(1)),
    MINUTE(Duration.ofMinutes(1)),
    HOUR(Duration.ofHours(1)),
    DAY(Duration.ofDays(1));

    private final Duration window;

    Per(Duration window) {
      this.window = window;
    }

    public Duration window() {
      return window;
    }

    /** {@code second}, {@code minute}, {@code hour}, {@code day}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Per of(String unit) {
      return switch (unit.toLowerCase(Locale.ROOT)) {
        case "s", "sec", "second", "seconds" -> SECOND;
        case "m", "min", "minute", "minutes" -> MINUTE;
        case "h", "hr", "hour", "hours" -> HOUR;
        case "d", "day", "days" -> DAY;
        default -> null;
      };
    }
  }

  private static final Pattern RATE = Pattern.compile("\\s*(-?\\d+)\\s*(?:/|\\s+per\\s+)\\s*([A-Za-z]+)\\s*");
  private static final String FORMS = "write N/second, N/minute, N/hour or N/day (e.g. \"1000/minute\")";

  /** {@code 1000/minute}. */
  public String rate() {
    return requests + "/" + per.label();
  }

  /** The one spelling a route is matched by: one trailing {@code /} dropped, lower case. */
  public static String normalise(String path) {
    String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return trimmed.toLowerCase(Locale.ROOT);
  }

  /**
   * {@code rate_limit.routes}: a mapping of API paths to rates. Every entry that cannot be a limit is an error by
   * its path (a bad rate, 0 or less, a path the gateway never serves as an API route, the same route twice).
   */
  static List<RouteLimitConfig> readAll(ConfigReader r, String key) {
    boolean present = r.has(key);
    JsonObject raw = r.mapping(key);
    List<RouteLimitConfig> out = new ArrayList<>();
    if (!present) {
      return out;
    }
    Map<String, String> seen = new HashMap<>();
    for (String path : raw.fieldNames()) {
      String at = r.path(key) + "." + (path.length() > 60 ? ConfigReader.quote(path) : path);
      String pathProblem = pathProblem(path);
      if (pathProblem != null) {
        r.problems().error(at, pathProblem);
        continue;
      }
      RouteLimitConfig limit = parse(path, raw.getValue(path), at, r.problems());
      if (limit == null) {
        continue;
      }
      String earlier = seen.putIfAbsent(limit.path(), path);
      if (earlier != null) {
        r.problems().error(at, "the same route as \"" + earlier + "\" (routes are matched without a trailing '/'"
            + " and regardless of case); give it one rate");
        continue;
      }
      out.add(limit);
    }
    return out;
  }

  /** Null when {@code path} names an API route a request can arrive on; else why not. */
  private static String pathProblem(String path) {
    if (!path.startsWith("/v1/") || path.length() == "/v1/".length()) {
      return "not an API route of the gateway: route limits apply to paths under /v1/ (e.g. /v1/embeddings);"
          + " the gateway's own endpoints (/health, /ready, /metrics, /admin) are never rate limited";
    }
    if (path.indexOf('?') >= 0 || path.indexOf('#') >= 0) {
      return "a route is a path alone, without a query";
    }
    if (path.indexOf('*') >= 0) {
      return "a route is one exact path; wildcards and prefixes are not matched";
    }
    String refusal = RequestPath.refusal(path);
    if (refusal != null) {
      return "never matches, because the gateway refuses such request paths: " + refusal;
    }
    return null;
  }

  private static RouteLimitConfig parse(String path, Object value, String at, Problems problems) {
    if (value == null) {
      problems.error(at, "no rate given; " + FORMS);
      return null;
    }
    if (value instanceof JsonObject || value instanceof JsonArray || value instanceof Boolean) {
      problems.error(at, "not a rate (" + ConfigReader.quote(value) + "); " + FORMS);
      return null;
    }
    String text = String.valueOf(value);
    Matcher m = RATE.matcher(text);
    Per per = m.matches() ? Per.of(m.group(2)) : null;
    if (per == null) {
      problems.error(at, "not a rate (" + ConfigReader.quote(text) + "); " + FORMS);
      return null;
    }
    long requests;
    try {
      requests = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      problems.error(at, "too large a rate (" + ConfigReader.quote(text) + ")");
      return null;
    }
    if (requests < 1) {
      problems.error(at, "must allow at least 1 request per " + per.label() + " (" + ConfigReader.quote(text)
          + "); remove the entry to leave the route unlimited");
      return null;
    }
    return new RouteLimitConfig(normalise(path), requests, per);
  }

  static JsonObject toJson(List<RouteLimitConfig> routes) {
    JsonObject out = new JsonObject();
    for (RouteLimitConfig route : routes) {
      out.put(route.path(), route.rate());
    }
    return out;
  }
}
