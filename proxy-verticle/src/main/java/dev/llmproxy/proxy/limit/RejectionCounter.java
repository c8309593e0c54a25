package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RouteLimitConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code llmproxy_ratelimit_rejections_total{scope,limit}}: scope {@code global}, {@code key} or {@code route}
 * ({@code rate_limit.routes}, limit {@code requests_per_second|minute|hour|day}; the route itself is in the 429's
 * message, not in a label).
 */
public final class RejectionCounter {

  private final MeterRegistry meters;

  public RejectionCounter(MeterRegistry meters) {
    this.meters = meters;
    // Every series exists at 0 from the start, so that rate() and alerts see a rejection's first increment.
    for (String scope : new String[] {"global", "key"}) {
      for (Denial.Kind kind : Denial.Kind.values()) {
        counter(scope, kind.metric);
      }
    }
    for (RouteLimitConfig.Per per : RouteLimitConfig.Per.values()) {
      counter("route", Denial.routeMetric(per.label()));
    }
  }

  Admission denied(Denial denial) {
    counter(denial.scope(), denial.metric()).increment();
    return Admission.denied(denial);
  }

  private Counter counter(String scope, String limit) {
    return Counter.builder("llmproxy_ratelimit_rejections").description("Requests refused by a rate limit")
        .tag("scope", scope).tag("limit", limit).register(meters);
  }
}
