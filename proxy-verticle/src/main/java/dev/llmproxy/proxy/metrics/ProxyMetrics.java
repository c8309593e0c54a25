package dev.llmproxy.proxy.metrics;

import dev.llmproxy.common.config.MetricsConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import dev.llmproxy.common.util.Secrets;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The gateway's own meters, with the names of the original (seed 004). One instance per JVM, shared by
 * every proxy verticle instance; counters are looked up once per label set and then reused.
 * {@code metrics.custom_labels} ({@code user_id}, {@code api_key}) add the request's caller to requests, latency and
 * usage tokens; {@code api_key} is the key's name, else its masked form, never the key. Only keys that passed auth
 * are labelled, so that made-up keys cannot create series.
 */
public final class ProxyMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyMetrics.class);

  private static final double[] TTFT_BUCKETS_MS = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};

  private final MeterRegistry registry;
  private final double[] latencyBucketsMs;
  /** The meters without custom labels; with them, the per-caller maps below. */
  private final CallerMeters uncalled;
  private final ConcurrentHashMap<Caller, CallerMeters> callers = new ConcurrentHashMap<>();
  private final DistributionSummary ttft;
  private final AtomicLong inFlight = new AtomicLong();
  private final ConcurrentHashMap<RequestLabels, Counter> requests = new ConcurrentHashMap<>();
  /** The known names of {@code metrics.custom_labels}, in their configured order; unknown names are left out. */
  private final List<String> customLabels;
  private final boolean labelsUser;
  private final boolean labelsKey;

  private record RequestLabels(String path, boolean stream, String backend, int status, Caller caller) {
  }

  /** The values of the custom labels for one request; a label that is not configured is null. */
  public record Caller(String userId, String apiKey) {
  }

  private record CallerMeters(DistributionSummary latency, Counter promptTokens, Counter completionTokens) {
  }

  public ProxyMetrics(MeterRegistry registry, MetricsConfig config) {
    this.registry = registry;
    this.latencyBucketsMs = config.latencyBuckets().stream().mapToDouble(seconds -> seconds * 1000).toArray();
    this.customLabels = config.customLabels().stream().filter(MetricsConfig.CUSTOM_LABELS::contains).distinct().toList();
    this.labelsUser = customLabels.contains("user_id");
    this.labelsKey = customLabels.contains("api_key");
    // Prometheus wants one set of label names per meter name: with custom labels, every series carries them.
    this.uncalled = customLabels.isEmpty() ? callerMeters(Tags.empty()) : null;
    this.ttft = DistributionSummary.builder("llmproxy_ttft_ms")
        .description("Time to first token: from the request's arrival to the first byte of the answer's body")
        .serviceLevelObjectives(TTFT_BUCKETS_MS)
        .register(registry);
    registry.gauge("llmproxy_requests_in_flight", inFlight);
  }

  private CallerMeters callerMeters(Tags callerTags) {
    DistributionSummary latency = DistributionSummary.builder("llmproxy_latency_ms")
        .description("Request latency in milliseconds, from the request's arrival to the end of its answer")
        .serviceLevelObjectives(latencyBucketsMs)
        .tags(callerTags)
        .register(registry);
    return new CallerMeters(latency, tokens("prompt", callerTags), tokens("completion", callerTags));
  }

  private Counter tokens(String type, Tags callerTags) {
    return Counter.builder("llmproxy_usage_tokens").description("Tokens used, as reported or estimated")
        .tag("type", type).tags(callerTags).register(registry);
  }

  /**
   * The custom label values of a request, or null when {@code metrics.custom_labels} names none (then nothing is
   * allocated per request).
   *
   * @param apiKey  the key that passed auth, or null
   * @param keyName its name, or null
   * @param userId  its user, or null
   */
  public Caller caller(String apiKey, String keyName, String userId) {
    if (customLabels.isEmpty()) {
      return null;
    }
    String keyLabel = null;
    if (labelsKey) {
      keyLabel = keyName != null && !keyName.isBlank() ? keyName : apiKey == null ? "" : Secrets.mask(apiKey);
    }
    return new Caller(labelsUser ? (userId == null ? "" : userId) : null, keyLabel);
  }

  private CallerMeters meters(Caller caller) {
    if (caller == null) {
      return uncalled;
    }
    return callers.computeIfAbsent(caller, c -> callerMeters(tags(c)));
  }

  private Tags tags(Caller caller) {
    Tags tags = Tags.empty();
    for (String label : customLabels) {
      tags = tags.and(label, label.equals("user_id") ? caller.userId() : caller.apiKey());
    }
    return tags;
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  /** @param caller from {@link #caller}: null without custom labels */
  public void requestEnded(String path, boolean stream, String backend, int status, long latencyMs, long ttftMs,
      Caller caller) {
    inFlight.decrementAndGet();
    requests.computeIfAbsent(new RequestLabels(path, stream, backend, status, caller), labels ->
        Counter.builder("llmproxy_requests").description("Requests answered")
            .tag("path", labels.path()).tag("stream", Boolean.toString(labels.stream()))
            .tag("backend", labels.backend()).tag("status", Integer.toString(labels.status()))
            .tags(labels.caller() == null ? Tags.empty() : tags(labels.caller()))
            .register(registry)).increment();
    meters(caller).latency().record(latencyMs);
    if (ttftMs >= 0) {
      ttft.record(ttftMs);
    }
  }

  public void retry(String backend, String reason) {
    Counter.builder("llmproxy_retries").description("Attempts retried before the first byte reached the client")
        .tag("backend", backend).tag("reason", reason).register(registry).increment();
  }

  /** {@code fault_injection} did something to an attempt ({@code kind}: delay, abort, stream_cut). */
  public void faultInjected(String fault, String kind) {
    Counter.builder("llmproxy_faults_injected").description("Faults injected on purpose by fault_injection")
        .tag("fault", fault).tag("kind", kind).register(registry).increment();
  }

  /** A lifecycle hook failed or was cut ({@code reason}: error, timeout, memory, answer). */
  public void hookFailed(String hook, String reason) {
    Counter.builder("llmproxy_hook_errors").description("Lifecycle hooks that failed or were cut; the request went on")
        .tag("hook", hook).tag("reason", reason).register(registry).increment();
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

  /** @param caller from {@link #caller}: null without custom labels */
  public void tokens(long prompt, long completion, Caller caller) {
    CallerMeters meters = meters(caller);
    meters.promptTokens().increment(prompt);
    meters.completionTokens().increment(completion);
  }
}
