package dev.llmproxy.proxy.limit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** {@code llmproxy_ratelimit_rejections_total{scope,limit}}. */
public final class RejectionCounter {

  private final MeterRegistry meters;

  public RejectionCounter(MeterRegistry meters) {
    this.meters = meters;
  }

  Admission denied(Denial denial) {
    Counter.builder("llmproxy_ratelimit_rejections").description("Requests refused by a rate limit")
        .tag("scope", denial.scope()).tag("limit", denial.metric()).register(meters).increment();
    return Admission.denied(denial);
  }
}
