package dev.llmproxy.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code routing.flow_control}'s meters, one set for the JVM (every proxy instance's queue adds to them):
 * {@code llmproxy_flow_queue_length{band}}, {@code llmproxy_flow_wait_seconds{band}} (histogram) and
 * {@code llmproxy_flow_shed_total{band,reason}}. Bands are clamped priorities, so the labels stay few.
 */
public final class FlowMetrics {

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Integer, AtomicInteger> lengths = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, Timer> waits = new ConcurrentHashMap<>();

  public FlowMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void queueLength(int band, int delta) {
    lengths.computeIfAbsent(band, b -> {
      AtomicInteger length = new AtomicInteger();
      Gauge.builder("llmproxy_flow_queue_length", length, AtomicInteger::get)
          .description("Requests waiting in the gateway for a backend below its saturation threshold")
          .tag("band", Integer.toString(b)).register(registry);
      return length;
    }).addAndGet(delta);
  }

  public void waited(int band, long nanos) {
    waits.computeIfAbsent(band, b -> Timer.builder("llmproxy_flow_wait")
        .description("Time requests waited in the gateway's flow-control queue before they were sent on")
        .tag("band", Integer.toString(b)).publishPercentileHistogram().register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  public void shed(int band, String reason) {
    Counter.builder("llmproxy_flow_shed").description("Requests refused by flow control (max_queue, max_wait)")
        .tag("band", Integer.toString(band)).tag("reason", reason).register(registry).increment();
  }
}
