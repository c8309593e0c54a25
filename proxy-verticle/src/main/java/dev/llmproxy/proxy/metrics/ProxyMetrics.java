package dev.llmproxy.proxy.metrics;

import dev.llmproxy.common.config.MetricsConfig;
import dev.llmproxy.proxy.balance.BackendStatsRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import dev.llmproxy.common.util.Secrets;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The gateway's own meters, with the names of the original (seed 004). One instance per JVM, shared by
 * every proxy verticle instance; counters are looked up once per label set and then reused.
 * Beside seed 004's {@code llmproxy_latency_ms} and our earlier {@code llmproxy_ttft_ms} (kept so that existing
 * dashboards keep working), the same times are recorded in base units, as Prometheus's conventions want:
 * {@code llmproxy_request_duration_seconds} and {@code llmproxy_ttft_seconds}, with a {@code model} label.
 * Request and token series carry the request's {@code model} (see {@link ModelLabels} for its bound).
 * {@code metrics.custom_labels} ({@code user_id}, {@code api_key}) add the request's caller to requests, latency and
 * usage tokens; {@code api_key} is the key's name, else its masked form, never the key. Only keys that passed auth
 * are labelled, so that made-up keys cannot create series.
 */
public final class ProxyMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyMetrics.class);

  private static final double[] TTFT_BUCKETS_MS = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
  private static final Duration[] TTFT_BUCKETS = Arrays.stream(TTFT_BUCKETS_MS)
      .mapToObj(ms -> Duration.ofNanos((long) (ms * 1_000_000))).toArray(Duration[]::new);

  private final MeterRegistry registry;
  private final double[] latencyBucketsMs;
  private final Duration[] latencyBuckets;
  /** The meters without custom labels; with them, the per-caller maps below. */
  private final CallerMeters uncalled;
  private final ConcurrentHashMap<Caller, CallerMeters> callers = new ConcurrentHashMap<>();
  /** The base-unit meters and token counters of each (model, caller). */
  private final ConcurrentHashMap<ModelCaller, ModelMeters> models = new ConcurrentHashMap<>();
  private final ModelLabels modelLabels = new ModelLabels();
  private final DistributionSummary ttft;
  private final Counter authUnavailable;
  private final Counter usageRejected;
  private final AtomicLong inFlight = new AtomicLong();
  private final ConcurrentHashMap<RequestLabels, Counter> requests = new ConcurrentHashMap<>();
  /** The known names of {@code metrics.custom_labels}, in their configured order; unknown names are left out. */
  private final List<String> customLabels;
  private final boolean labelsUser;
  private final boolean labelsKey;

  private record RequestLabels(String path, boolean stream, String backend, int status, String model, Caller caller) {
    /** {@link #equals} without a key built for the comparison. */
    boolean matches(String path, boolean stream, String backend, int status, String model, Caller caller) {
      return this.status == status && this.stream == stream && this.path.equals(path) && this.backend.equals(backend)
          && Objects.equals(this.model, model) && Objects.equals(this.caller, caller);
    }
  }

  /** Every meter an ended request of one label set records to. */
  private record EndedMeters(RequestLabels labels, Counter requests, DistributionSummary latency, ModelMeters model) {
  }

  /**
   * The meters of the label set a request last ended with, shared by every event loop: most requests repeat a recent
   * label set, and then ending one looks nothing up and allocates nothing. Not volatile: a loop that reads an older
   * value (an immutable record) only looks the meters up again.
   */
  private EndedMeters recentlyEnded;

  private record ModelCaller(String model, Caller caller) {
  }

  private record ModelMeters(Timer duration, Timer ttft, Counter promptTokens, Counter completionTokens) {
  }

  /** The values of the custom labels for one request; a label that is not configured is null. */
  public record Caller(String userId, String apiKey) {
  }

  private record CallerMeters(DistributionSummary latency) {
  }

  public ProxyMetrics(MeterRegistry registry, MetricsConfig config) {
    this.registry = registry;
    this.latencyBucketsMs = config.latencyBuckets().stream().mapToDouble(seconds -> seconds * 1000).toArray();
    this.latencyBuckets = config.latencyBuckets().stream().map(seconds -> Duration.ofNanos((long) (seconds * 1e9)))
        .toArray(Duration[]::new);
    this.customLabels = config.customLabels().stream().filter(MetricsConfig.CUSTOM_LABELS::contains).distinct().toList();
    this.labelsUser = customLabels.contains("user_id");
    this.labelsKey = customLabels.contains("api_key");
    // Prometheus wants one set of label names per meter name: with custom labels, every series carries them.
    this.uncalled = customLabels.isEmpty() ? callerMeters(Tags.empty()) : null;
    this.ttft = DistributionSummary.builder("llmproxy_ttft_ms")
        .description("Time to first token: from the request's arrival to the first byte of the answer's body")
        .serviceLevelObjectives(TTFT_BUCKETS_MS)
        .register(registry);
    Gauge.builder("llmproxy_requests_in_flight", inFlight, AtomicLong::get)
        .description("API requests received and not yet answered to the end").register(registry);
    // A counter exists at 0 from the start, so that rate() and alerts see it before its first event.
    this.authUnavailable = Counter.builder("llmproxy_auth_unavailable")
        .description("Requests refused with 503 auth_unavailable: no auth store or auth member could decide")
        .register(registry);
    this.usageRejected = Counter.builder("llmproxy_usage_reports_rejected")
        .description("Backend usage reports ignored because a count was negative or not a whole number; "
            + "those requests are estimated")
        .register(registry);
  }

  /** A backend's usage report had counts that are no counts: the request is estimated instead. */
  public void usageReportRejected() {
    usageRejected.increment();
  }

  private CallerMeters callerMeters(Tags callerTags) {
    DistributionSummary latency = DistributionSummary.builder("llmproxy_latency_ms")
        .description("Request latency in milliseconds, from the request's arrival to the end of its answer")
        .serviceLevelObjectives(latencyBucketsMs)
        .tags(callerTags)
        .register(registry);
    return new CallerMeters(latency);
  }

  private ModelMeters modelMeters(ModelCaller key) {
    Tags tags = Tags.of("model", key.model()).and(key.caller() == null ? Tags.empty() : tags(key.caller()));
    Timer duration = Timer.builder("llmproxy_request_duration")
        .description("Request duration in seconds, from the request's arrival to the end of its answer")
        .serviceLevelObjectives(latencyBuckets).tags(tags).register(registry);
    Timer firstToken = Timer.builder("llmproxy_ttft")
        .description("Time to first token of streamed answers in seconds, from the request's arrival to the first "
            + "byte of the answer's body")
        .serviceLevelObjectives(TTFT_BUCKETS).tags(tags).register(registry);
    return new ModelMeters(duration, firstToken, tokens("prompt", tags), tokens("completion", tags));
  }

  private Counter tokens(String type, Tags tags) {
    return Counter.builder("llmproxy_usage_tokens").description("Tokens used, as reported or estimated")
        .tag("type", type).tags(tags).register(registry);
  }

  private ModelMeters modelMeters(String model, Caller caller) {
    return models.computeIfAbsent(new ModelCaller(modelLabels.label(model), caller), this::modelMeters);
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

  /**
   * @param model  the model the request asked for, or null when none was read
   * @param caller from {@link #caller}: null without custom labels
   */
  public void requestEnded(String path, boolean stream, String backend, int status, String model, long latencyMs,
      long ttftMs, Caller caller) {
    inFlight.decrementAndGet();
    EndedMeters meters = recentlyEnded;
    if (meters == null || !meters.labels().matches(path, stream, backend, status, model, caller)) {
      meters = endedMeters(path, stream, backend, status, model, caller);
      recentlyEnded = meters;
    }
    meters.requests().increment();
    meters.latency().record(latencyMs);
    meters.model().duration().record(latencyMs, TimeUnit.MILLISECONDS);
    if (ttftMs >= 0) {
      ttft.record(ttftMs);
      meters.model().ttft().record(ttftMs, TimeUnit.MILLISECONDS);
    }
  }

  private EndedMeters endedMeters(String path, boolean stream, String backend, int status, String model, Caller caller) {
    String modelLabel = modelLabels.label(model);
    Counter counter = requests.computeIfAbsent(new RequestLabels(path, stream, backend, status, modelLabel, caller),
        labels -> Counter.builder("llmproxy_requests").description("Requests answered")
            .tag("path", labels.path()).tag("stream", Boolean.toString(labels.stream()))
            .tag("backend", labels.backend()).tag("status", Integer.toString(labels.status()))
            .tag("model", labels.model())
            .tags(labels.caller() == null ? Tags.empty() : tags(labels.caller()))
            .register(registry));
    // Keyed by the model as the client wrote it: its label never changes once given (ModelLabels only grows).
    return new EndedMeters(new RequestLabels(path, stream, backend, status, model, caller), counter,
        meters(caller).latency(), modelMeters(model, caller));
  }

  /** A request was refused because no auth store or member could decide on its key. */
  public void authUnavailable() {
    authUnavailable.increment();
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

  /** A response cache lookup: {@code hit}, {@code miss}, or {@code bypass} (the client's Cache-Control). */
  public void responseCache(String result) {
    Counter.builder("llmproxy_response_cache").description("Response cache lookups by result")
        .tag("result", result).register(registry).increment();
  }

  public void backendEjected(String backend) {
    LOG.warn("backend {} ejected after consecutive failures; it is tried again after a cooldown", backend);
    BackendStatsRegistry.ejections(registry, backend).increment();
  }

  public void backendRecovered(String backend) {
    LOG.info("backend {} answers again; back in rotation", backend);
    BackendStatsRegistry.recoveries(registry, backend).increment();
  }

  /**
   * @param model  the model the request asked for, or null
   * @param caller from {@link #caller}: null without custom labels
   */
  public void tokens(long prompt, long completion, String model, Caller caller) {
    ModelMeters meters = modelMeters(model, caller);
    meters.promptTokens().increment(prompt);
    meters.completionTokens().increment(completion);
  }
}
