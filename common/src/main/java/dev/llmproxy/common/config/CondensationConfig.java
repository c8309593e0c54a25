package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * {@code condensation} (seed 002): when a backend refuses a chat request because its context is too long, the
 * request is retried once with the oldest non-system messages dropped. Seed 002's summarisation settings (a
 * summary model, its cache, adaptive tuning) are read and warned about by their path: the gateway truncates, it does
 * not summarise.
 *
 * @param errorKeywords text of a backend's 400 answer that marks a context-length error (case-insensitive)
 * @param dropFraction  the share of the non-system messages (the last one always kept) dropped on the retry
 */
public record CondensationConfig(boolean enabled, List<String> errorKeywords, double dropFraction) {

  public static final List<String> DEFAULT_KEYWORDS = List.of("context_length_exceeded", "maximum context length",
      "context length", "too long", "exceeds the available context");
  /** Seed 002 fields with no effect here: warned about when present. */
  static final Set<String> NOT_SUPPORTED = new java.util.TreeSet<>(List.of("max_tokens_default",
      "truncation_threshold", "summary_max_tokens", "cache_size", "cache_ttl", "cache_persist", "adaptive_enabled", "quality_threshold", "fallback_strategies",
      "batch_size", "concurrency_limit", "timeout", "monitoring"));

  public CondensationConfig {
    errorKeywords = Immutables.list(errorKeywords);
  }

  static CondensationConfig read(ConfigReader r) {
    List<String> keywords = r.strings("error_keywords", null);
    List<String> patterns = r.strings("error_patterns", null);
    List<String> all = new java.util.ArrayList<>();
    if (keywords != null) {
      all.addAll(keywords);
    }
    if (patterns != null) {
      all.addAll(patterns);
    }
    for (String field : NOT_SUPPORTED) {
      if (r.has(field)) {
        r.ignore(field);
        r.problems().warn(r.path(field), "not supported: the gateway drops the oldest messages on a context-length"
            + " error (condensation.enabled), it does not summarise; this field has no effect");
      }
    }
    return new CondensationConfig(r.bool("enabled", false), all.isEmpty() ? DEFAULT_KEYWORDS : all,
        r.decimal("adaptive_factor", 0.5));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("error_keywords", new io.vertx.core.json.JsonArray(errorKeywords))
        .put("adaptive_factor", dropFraction);
  }
}
