package dev.llmproxy.common.config;

import dev.llmproxy.common.util.RequestPath;
import java.util.List;

/**
 * Checks of what the HTTP edge makes of {@code auth.skip_paths} and {@code metrics.custom_labels}: entries that can
 * never match, label names nobody fills, and the consequences a user should hear about before start-up.
 */
final class EdgeChecks {

  private EdgeChecks() {
  }

  static void check(GatewayConfig config, Problems problems) {
    skipPaths(config, problems);
    customLabels(config.metrics(), problems);
  }

  private static void skipPaths(GatewayConfig config, Problems problems) {
    AuthConfig auth = config.auth();
    List<String> entries = auth.skipPaths();
    for (int i = 0; i < entries.size(); i++) {
      String refusal = RequestPath.refusal(entries.get(i));
      if (refusal != null) {
        problems.warn("auth.skip_paths[" + i + "]", "never matches, because the gateway refuses such request paths: "
            + refusal);
      }
    }
    boolean adminOnMainPort = config.admin().enabled() && config.admin().listen().isEmpty();
    List<String> providers = auth.pipeline().stream().filter(AuthProviderConfig::enabled)
        .map(AuthProviderConfig::type).distinct().toList();
    if (auth.enabled() && adminOnMainPort && !auth.skips("/admin/keys/create") && providers.equals(List.of("builtin"))) {
      // Keys of the builtin store are made through the admin API: a fresh store could never get its first one.
      problems.warn("auth.skip_paths", "\"/admin/\" is not listed, so the admin API on the main port needs an API key"
          + " besides X-Admin-Token; with only builtin keys the first key cannot be created through it:"
          + " list \"/admin/\" or give admin its own listen");
    }
  }

  private static void customLabels(MetricsConfig metrics, Problems problems) {
    List<String> labels = metrics.customLabels();
    boolean perCaller = false;
    for (int i = 0; i < labels.size(); i++) {
      if (!MetricsConfig.CUSTOM_LABELS.contains(labels.get(i))) {
        problems.warn("metrics.custom_labels[" + i + "]", "'" + labels.get(i) + "' is not used: the known labels are "
            + String.join(", ", MetricsConfig.CUSTOM_LABELS));
      } else {
        perCaller = true;
      }
    }
    if (perCaller && metrics.enabled()) {
      problems.warn("metrics.custom_labels", "user_id/api_key make one series per user or key on"
          + " llmproxy_requests_total, llmproxy_latency_ms (a histogram) and llmproxy_usage_tokens_total;"
          + " with many keys that is a large /metrics and Prometheus load");
    }
  }
}
