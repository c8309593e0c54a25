package dev.llmproxy.proxy.balance.engine;

import java.util.Optional;

/**
 * Reads the load figures of vLLM, SGLang, TGI and llama.cpp out of Prometheus text exposition.
 *
 * <p>A single pass over the text, one line at a time, without regular expressions and without a
 * string per line: a line whose metric name is not one of the dozen known ones is skipped up to its
 * newline; only a known sample's value is parsed (digits in place; the JDK's parser only for values
 * with more than 15 significant digits). Comment lines ({@code # HELP}, {@code # TYPE}, {@code # EOF})
 * and blank lines are skipped; label values may hold spaces, commas, braces and escaped quotes; a
 * trailing timestamp is ignored. A malformed line, or a sample whose value is NaN, counts as absent.
 *
 * <p>Counts (waiting, running) are summed over a metric's label sets (several {@code model_name} or
 * {@code engine} labels, data-parallel ranks); the KV-cache fraction is the largest of them, clamped
 * to 0..1, as the fullest cache is the one that will preempt first.
 */
public final class EngineMetricsParser {

  private static final String[] ENGINES = {"vllm", "sglang", "tgi", "llamacpp"};
  private static final int VLLM = 0;
  private static final int SGLANG = 1;
  private static final int TGI = 2;
  private static final int LLAMACPP = 3;

  private static final int WAITING = 0;
  private static final int RUNNING = 1;
  private static final int KV = 2;
  /** vLLM's older name for the KV fraction: used only when the newer one is absent. */
  private static final int KV_FALLBACK = 3;
  private static final int FIELDS = 4;

  private record Known(String name, int engine, int field) {
  }

  private static final Known[] KNOWN = {
      new Known("vllm:num_requests_waiting", VLLM, WAITING),
      new Known("vllm:num_requests_running", VLLM, RUNNING),
      new Known("vllm:kv_cache_usage_perc", VLLM, KV),
      new Known("vllm:gpu_cache_usage_perc", VLLM, KV_FALLBACK),
      new Known("sglang:num_queue_reqs", SGLANG, WAITING),
      new Known("sglang:num_running_reqs", SGLANG, RUNNING),
      new Known("sglang:token_usage", SGLANG, KV),
      new Known("tgi_queue_size", TGI, WAITING),
      new Known("tgi_batch_current_size", TGI, RUNNING),
      new Known("llamacpp:requests_deferred", LLAMACPP, WAITING),
      new Known("llamacpp:requests_processing", LLAMACPP, RUNNING),
      new Known("llamacpp:kv_cache_usage_ratio", LLAMACPP, KV),
  };


  private EngineMetricsParser() {
  }

  /**
   * @param nowNanos becomes {@link EngineLoad#scrapedAtNanos()}
   * @return empty when the text holds none of the known metrics. Should it hold several engines'
   *     metrics, the first of vLLM, SGLang, TGI, llama.cpp that has any wins.
   */
  public static Optional<EngineLoad> parse(CharSequence text, long nowNanos) {
    double[] figures = new double[ENGINES.length * FIELDS];
    java.util.Arrays.fill(figures, Double.NaN);
    int length = text.length();
    int pos = 0;
    while (pos < length) {
      pos = line(text, pos, length, figures);
    }
    for (int engine = 0; engine < ENGINES.length; engine++) {
      int base = engine * FIELDS;
      double kv = Double.isNaN(figures[base + KV]) ? figures[base + KV_FALLBACK] : figures[base + KV];
      double waiting = figures[base + WAITING];
      double running = figures[base + RUNNING];
      if (!Double.isNaN(waiting) || !Double.isNaN(running) || !Double.isNaN(kv)) {
        return Optional.of(new EngineLoad(ENGINES[engine], waiting, running, kv, nowNanos));
      }
    }
    return Optional.empty();
  }

  /** Reads the line starting at {@code pos}; returns the position after its newline. */
  private static int line(CharSequence text, int pos, int length, double[] figures) {
    while (pos < length && isBlank(text.charAt(pos))) {
      pos++;
    }
    if (pos >= length) {
      return length;
    }
    char first = text.charAt(pos);
    if (first == '\n') {
      return pos + 1;
    }
    Known known = first == '#' ? null : known(text, pos, length);
    if (known == null) {
      return nextLine(text, pos, length);
    }
    pos += known.name.length();
    if (pos < length && text.charAt(pos) == '{') {
      pos = skipLabels(text, pos + 1, length);
      if (pos < 0) {
        return nextLine(text, -pos, length);
      }
    }
    int valueStart = pos;
    while (valueStart < length && isBlank(text.charAt(valueStart))) {
      valueStart++;
    }
    if (valueStart == pos) {
      // no separator: the name was only the start of a longer one, or the line is malformed
      return nextLine(text, pos, length);
    }
    int valueEnd = valueStart;
    while (valueEnd < length && !isBlank(text.charAt(valueEnd)) && text.charAt(valueEnd) != '\n') {
      valueEnd++;
    }
    double value = parseValue(text, valueStart, valueEnd);
    if (!Double.isNaN(value)) {
      add(figures, known, value);
    }
    return nextLine(text, valueEnd, length);
  }

  private static void add(double[] figures, Known known, double value) {
    int slot = known.engine * FIELDS + known.field;
    double previous = figures[slot];
    if (known.field == KV || known.field == KV_FALLBACK) {
      double fraction = Math.max(0, Math.min(1, value));
      figures[slot] = Double.isNaN(previous) ? fraction : Math.max(previous, fraction);
    } else {
      figures[slot] = Double.isNaN(previous) ? value : previous + value;
    }
  }

  /** The known metric whose name starts at {@code pos} and ends at a label set or blank, else null. */
  private static Known known(CharSequence text, int pos, int length) {
    char first = text.charAt(pos);
    if (first != 'v' && first != 's' && first != 't' && first != 'l') {
      return null;
    }
    for (Known known : KNOWN) {
      String name = known.name;
      int end = pos + name.length();
      if (end > length || name.charAt(0) != first) {
        continue;
      }
      if (end < length) {
        char after = text.charAt(end);
        if (after != '{' && !isBlank(after)) {
          continue;
        }
      }
      if (regionEquals(text, pos, name)) {
        return known;
      }
    }
    return null;
  }

  private static boolean regionEquals(CharSequence text, int pos, String name) {
    for (int i = name.length() - 1; i > 0; i--) {
      if (text.charAt(pos + i) != name.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Skips {@code label="value",...}} from just after the opening brace.
   *
   * @return the position after the closing brace, or minus the position where the line broke off
   */
  private static int skipLabels(CharSequence text, int pos, int length) {
    boolean quoted = false;
    while (pos < length) {
      char c = text.charAt(pos);
      if (c == '\n') {
        return -pos;
      }
      if (quoted) {
        if (c == '\\') {
          pos++;
          if (pos < length && text.charAt(pos) == '\n') {
            return -pos;
          }
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '}') {
        return pos + 1;
      }
      pos++;
    }
    return -length;
  }

  private static int nextLine(CharSequence text, int pos, int length) {
    while (pos < length) {
      if (text.charAt(pos++) == '\n') {
        return pos;
      }
    }
    return length;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
  }

  /**
   * A Prometheus sample value: decimal or exponent notation, {@code NaN}, {@code +Inf}, {@code -Inf}.
   * NaN for anything else.
   */
  static double parseValue(CharSequence text, int start, int end) {
    if (start >= end) {
      return Double.NaN;
    }
    int pos = start;
    char c = text.charAt(pos);
    boolean negative = c == '-';
    if (c == '+' || c == '-') {
      pos++;
    }
    if (pos < end && !isDigit(text.charAt(pos)) && text.charAt(pos) != '.') {
      return word(text, pos, end, negative);
    }
    // Only plain decimal or exponent notation reaches parseDouble, which would also take hex, "1d" or "1f".
    for (int i = pos; i < end; i++) {
      c = text.charAt(i);
      if (!(isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
        return Double.NaN;
      }
    }
    try {
      return Double.parseDouble(text.subSequence(start, end).toString());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  /** {@code Inf}, {@code Infinity} or {@code NaN} in any case, as Go's ParseFloat takes them. */
  private static double word(CharSequence text, int pos, int end, boolean negative) {
    int length = end - pos;
    if ((length == 3 || length == 8) && equalsIgnoreCase(text, pos, end, length == 3 ? "inf" : "infinity")) {
      return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    return Double.NaN;
  }

  private static boolean equalsIgnoreCase(CharSequence text, int pos, int end, String lower) {
    for (int i = 0; pos + i < end; i++) {
      if (Character.toLowerCase(text.charAt(pos + i)) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
