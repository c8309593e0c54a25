package dev.llmproxy.proxy.metrics;

import dev.llmproxy.common.config.MetricsConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The gateway's own meters, with the names of the original (seed 004). One instance per JVM, shared by
 * every proxy verticle instance; counters are looked up once per label set and then reused.
 */
public final class ProxyMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyMetrics.class);

  private static final double[] TTFT_BUCKETS_MS = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};

  private final MeterRegistry registry;
  private final DistributionSummary latency;
  private final DistributionSummary ttft;
  private final Counter promptTokens;
  private final Counter completionTokens;
  private final AtomicLong inFlight = new AtomicLong();
  private final ConcurrentHashMap<RequestLabels, Counter> requests = new ConcurrentHashMap<>();

  private record RequestLabels(String path, boolean stream, String backend, int status) {
  }

  public ProxyMetrics(MeterRegistry registry, MetricsConfig config) {
    this.registry = registry;
    double[] bucketsMs = config.latencyBuckets().stream().mapToDouble(seconds -> seconds * 1000).toArray();
    this.latency = DistributionSummary.builder("llmproxy_latency_ms")
        .description("Request latency in milliseconds, from the request's arrival to the end of its answer")
        .serviceLevelObjectives(bucketsMs)
        .register(registry);
    this.ttft = DistributionSummary.builder("llmproxy_ttft_ms")
        .description("Time to first token: from the request's arrival to the first byte of the answer's body")
        .serviceLevelObjectives(TTFT_BUCKETS_MS)
        .register(registry);
    this.promptTokens = tokens("prompt");
    this.completionTokens = tokens("completion");
    registry.gauge("llmproxy_requests_in_flight", inFlight);
  }

  private Counter tokens(String type) {
    return Counter.builder("llmproxy_usage_tokens").description("Tokens used, as reported or estimated")
        .tag("type", type).register(registry);
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  public void requestEnded(String path, boolean stream, String backend, int status, long latencyMs, long ttftMs) {
    inFlight.decrementAndGet();
    requests.computeIfAbsent(new RequestLabels(path, stream, backend, status), labels ->
        Counter.builder("llmproxy_requests").description("Requests answered")
            .tag("path", labels.path()).tag("stream", Boolean.toString(labels.stream()))
            .tag("backend", labels.backend()).tag("status", Integer.toString(labels.status()))
            .register(registry)).increment();
    latency.record(latencyMs);
    if (ttftMs >= 0) {
      ttft.record(ttftMs);
    }
  }

  public void retry(String backend, String reason) {
    Counter.builder("llmproxy_retries").description("Attempts retried before the first byte reached the client")
        .tag("backend", backend).tag("reason", reason).register(registry).increment();
  }

  public void backendEjected(String backend) {
    LOG.warn("backend {} ejected after consecutive failures; it is tried again after a cooldown", backend);
    Counter.builder("llmproxy_backend_ejections").description("Backends taken out of rotation by passive health checks")
        .tag("backend", backend).register(registry).increment();
  }

  public void backendRecovered(String backend) {
    LOG.info("backend {} answers again; back in rotation", backend);
    Counter.builder("llmproxy_backend_recoveries").description("Ejected backends that answered again")
        .tag("backend", backend).register(registry).increment();
  }

  public void tokens(long prompt, long completion) {
    promptTokens.increment(prompt);
    completionTokens.increment(completion);
  }
}
