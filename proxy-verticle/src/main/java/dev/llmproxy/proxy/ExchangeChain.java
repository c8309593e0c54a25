package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ModelOverrides;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.proxy.LifecycleHooks.Hook;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import dev.llmproxy.proxy.upstream.Usage;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps every API exchange of one proxy verticle instance walks, built once per config, and the sinks its
 * outcome goes to. Request walk, in order: request id, body read, inspection, auth, model overrides, limits, the
 * response cache, flow control, routing, forward (the last step: the backend's answer turns the walk around).
 * Response walk, back: the answer's head, then the relay (the first step). The lifecycle hooks sit in their slots: {@code on_request} after inspection, {@code on_auth}
 * after auth, {@code on_route} after routing, {@code on_response} just before the relay, {@code on_error} for a
 * backend's error answer first on the way back (and for the gateway's own errors where they are rendered);
 * {@code on_complete} is an outcome sink. {@code fault_injection}'s step sits just before the forward step. With
 * {@code tracing} on, {@link ExchangeTracing} starts the server span before the request id and ends it as the last outcome sink. A step
 * that is off for a config is not in the chain at all.
 */
final class ExchangeChain {

  private final ExchangeInterceptor[] steps;
  private final OutcomeSink[] outcomeSinks;

  /**
   * The chain of one context's config: its optional steps are the context's own (null when off), so that a reload of
   * the hooks alone rebuilds the chain around the same cache, faults, tracing and flow control.
   */
  ExchangeChain(ExchangeContext context, LifecycleHooks hooks) {
    ProxyMetrics metrics = context.metrics;
    ExchangeLogs logs = context.logs;
    UsageBatcher usage = context.usage;
    ModelOverrides overrides = context.config.modelOverrides();
    CacheStep cache = context.cacheStep;
    FaultInjector faults = context.faults;
    ExchangeTracing tracing = context.tracing;
    FlowControlStep flow = context.flowControl;
    List<ExchangeInterceptor> chain = new ArrayList<>();
    chain.add(new Relay());
    if (hooks.has(Hook.ON_RESPONSE)) {
      chain.add(new HookSteps.OnResponse(hooks));
    }
    if (tracing != null) {
      chain.add(tracing);
    }
    chain.add(new RequestIdStep());
    chain.add(new BodyReadStep());
    chain.add(new InspectStep());
    if (hooks.has(Hook.ON_REQUEST)) {
      chain.add(new HookSteps.OnRequest(hooks));
    }
    if (tracing != null) {
      chain.add(new ExchangeTracing.Event("auth.check"));
    }
    chain.add(new AuthStep());
    if (tracing != null) {
      chain.add(new ExchangeTracing.Event("auth.answered"));
    }
    if (hooks.has(Hook.ON_AUTH)) {
      chain.add(new HookSteps.OnAuth(hooks));
    }
    if (!overrides.isEmpty()) {
      chain.add(new ModelOverridesStep(overrides));
    }
    chain.add(new LimitStep());
    if (tracing != null) {
      chain.add(new ExchangeTracing.Event("rate_limit.admitted"));
    }
    if (cache != null) {
      chain.add(cache);
    }
    if (flow != null) {
      chain.add(flow);
    }
    chain.add(new RouteStep());
    if (hooks.has(Hook.ON_ROUTE)) {
      chain.add(new HookSteps.OnRoute(hooks));
    }
    if (hooks.has(Hook.ON_ERROR)) {
      chain.add(new HookSteps.OnBackendError(hooks));
    }
    if (faults != null) {
      chain.add(new FaultStep(faults));
    }
    chain.add(new ForwardStep());
    this.steps = chain.toArray(ExchangeInterceptor[]::new);
    List<OutcomeSink> sinks = new ArrayList<>();
    sinks.add(outcome -> metrics.requestEnded(outcome.endpoint().metricsLabel(), outcome.stream(),
        outcome.backend() == null ? "none" : outcome.backend().name(), outcome.status(), outcome.model(),
        outcome.latencyMs(), outcome.stream() ? outcome.ttftMs() : -1, outcome.caller()));
    if (logs.enabled()) {
      sinks.add(logs);
    }
    ProxyEnvironment environment = context.environment;
    sinks.add(outcome -> usageRecord(metrics, outcome, environment.usageRecorded() ? usage : null));
    if (hooks.has(Hook.ON_COMPLETE)) {
      sinks.add(new HookSteps.OnComplete(hooks));
    }
    if (tracing != null) {
      sinks.add(tracing); // last: the span ends with what the other sinks saw
    }
    this.outcomeSinks = sinks.toArray(OutcomeSink[]::new);
  }

  ExchangeInterceptor[] steps() {
    return steps;
  }

  OutcomeSink[] outcomeSinks() {
    return outcomeSinks;
  }

  /**
   * A metered exchange's tokens are counted and, unless {@code batcher} is null (nothing reads records), its usage
   * record goes to the usage verticle (or hand-over), with the other records of this event loop's turn.
   */
  private static void usageRecord(ProxyMetrics metrics, ExchangeOutcome outcome, UsageBatcher batcher) {
    if (!outcome.metered()) {
      return;
    }
    Usage usage = outcome.usage();
    if (usage.totalTokens() > 0) {
      metrics.tokens(usage.promptTokens(), usage.completionTokens(), outcome.model(), outcome.caller());
    }
    if (batcher == null) {
      return;
    }
    var decision = outcome.decision();
    UsageRecord record = new UsageRecord(outcome.requestId(), outcome.apiKey(),
        decision == null ? null : decision.keySource(), decision == null ? null : decision.keyName(),
        decision == null ? null : decision.userId(), outcome.model(),
        usage.promptTokens(), usage.completionTokens(), usage.totalTokens(), outcome.stream(),
        outcome.request().method().name(), outcome.request().path(), outcome.received(),
        outcome.backend() == null ? null : outcome.backend().url(), outcome.status(), outcome.latencyMs(),
        outcome.ttftMs(), outcome.usageEstimated(), outcome.aborted(), outcome.clientIp());
    Object metadata = outcome.hookRequest() == null ? null : outcome.hookRequest().get("metadata");
    if (metadata instanceof io.vertx.core.json.JsonObject returned && !returned.isEmpty()) {
      // A copy: on_complete still reads the hooks' table while the record travels.
      record = record.withMetadata(returned.copy());
    }
    if (outcome.cutOff() != null) {
      record = record.withCutOff(outcome.cutOff());
    }
    batcher.add(outcome.cached() ? record.asCached() : record);
  }
}
