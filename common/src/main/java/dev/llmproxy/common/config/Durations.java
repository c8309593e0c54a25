package dev.llmproxy.common.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Go-style durations ({@code 100ms}, {@code 1h30m}, {@code 1.5s}); a bare number means seconds. */
public final class Durations {

  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");
  private static final Pattern NUMBER = Pattern.compile("\\d+(?:\\.\\d*)?|\\.\\d+");

  private Durations() {
  }

  /** The longest duration there is (Java's and Go's limit, about 292 years), in nanoseconds. */
  private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);

  /** Empty when the text is not a non-negative duration, or one too long to be held (it never wraps). */
  public static Optional<Duration> parse(String text) {
    return inNanos(text).filter(nanos -> nanos.compareTo(MAX_NANOS) <= 0).map(nanos -> Duration.ofNanos(nanos.longValue()));
  }

  /** Whether {@code text} is a duration, but longer than any that can be held. */
  public static boolean tooLong(String text) {
    return inNanos(text).filter(nanos -> nanos.compareTo(MAX_NANOS) > 0).isPresent();
  }

  /** A number of seconds as a duration; empty when negative or too long. */
  public static Optional<Duration> ofSeconds(double seconds) {
    if (!(seconds >= 0) || seconds * 1e9 > Long.MAX_VALUE) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos(Math.round(seconds * 1_000_000_000d)));
  }

  private static Optional<BigDecimal> inNanos(String text) {
    if (text == null) {
      return Optional.empty();
    }
    String s = text.trim();
    if (s.isEmpty()) {
      return Optional.empty();
    }
    if (s.length() > 200) {
      // Nobody writes a duration this long; the digits would only cost time.
      return Optional.empty();
    }
    if (NUMBER.matcher(s).matches()) {
      return Optional.of(new BigDecimal(s).multiply(BigDecimal.valueOf(1_000_000_000L)));
    }
    Matcher m = PART.matcher(s);
    BigDecimal total = BigDecimal.ZERO;
    int at = 0;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        return Optional.empty();
      }
      total = total.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unitNanos(m.group(2)))));
      at = m.end();
    }
    return Optional.of(total);
  }

  private static long unitNanos(String unit) {
    return switch (unit) {
      case "ns" -> 1L;
      case "us", "µs" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      default -> 3_600_000_000_000L;
    };
  }

  /** Shortest Go-parsable form: {@code 30s}, {@code 100ms}, {@code 1h30m}, {@code 1s500ms}, {@code 0s}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    long n = d.toNanos();
    StringBuilder out = new StringBuilder();
    n = append(out, n, 3_600_000_000_000L, "h");
    n = append(out, n, 60_000_000_000L, "m");
    n = append(out, n, 1_000_000_000L, "s");
    n = append(out, n, 1_000_000L, "ms");
    n = append(out, n, 1_000L, "us");
    append(out, n, 1L, "ns");
    return out.toString();
  }

  private static long append(StringBuilder out, long nanos, long unit, String suffix) {
    long count = nanos / unit;
    if (count > 0) {
      out.append(count).append(suffix);
    }
    return nanos % unit;
  }
}
