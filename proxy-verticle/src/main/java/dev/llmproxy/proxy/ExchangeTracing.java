package dev.llmproxy.proxy;

import dev.llmproxy.proxy.upstream.Usage;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.internal.ContextInternal;
import io.vertx.tracing.opentelemetry.VertxContextStorageProvider.VertxContextStorage;

import java.util.Set;

/**
 * {@code tracing}: the gateway's server span of an API exchange. The first request step starts it, continuing the
 * client's W3C {@code traceparent} (or starting a trace), and makes it the current span of the request's Vert.x
 * context, so that vertx-opentelemetry's HTTP client gives every backend attempt a client span under it and sends
 * the backend a {@code traceparent} naming it. As an outcome sink it puts what the exchange ended with on the span
 * (GenAI semantic conventions, the backend, the key's name, the retries) and ends it. Only in the chain when tracing
 * is on; the SDK's batch processor exports off the event loop.
 *
 * <p>The proxy's HTTP server itself does not trace ({@code TracingPolicy.IGNORE}): Vert.x would end its server span
 * when the last byte is written, before the outcome (and the usage of a stream) is known.
 */
final class ExchangeTracing implements ExchangeInterceptor, OutcomeSink {

  /** The client's propagation headers: not copied to the backend, which gets the gateway's own. */
  static final Set<String> PROPAGATION_HEADERS = Set.of("traceparent", "tracestate");

  static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<String> BACKEND = AttributeKey.stringKey("llmproxy.backend");
  static final AttributeKey<String> KEY_NAME = AttributeKey.stringKey("llmproxy.key_name");
  static final AttributeKey<Long> RETRIES = AttributeKey.longKey("llmproxy.retries");
  static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("llmproxy.request_id");
  static final AttributeKey<Boolean> USAGE_ESTIMATED = AttributeKey.booleanKey("llmproxy.usage_estimated");
  static final AttributeKey<Boolean> ABORTED = AttributeKey.booleanKey("llmproxy.aborted");
  static final AttributeKey<Boolean> STREAM = AttributeKey.booleanKey("llmproxy.stream");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");

  private static final TextMapGetter<MultiMap> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(MultiMap headers) {
      return headers.names();
    }

    @Override
    public String get(MultiMap headers, String key) {
      return headers == null ? null : headers.get(key);
    }
  };

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  ExchangeTracing(OpenTelemetry openTelemetry) {
    this.tracer = openTelemetry.getTracer("dev.llmproxy.proxy");
    this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    Context parent = propagator.extract(Context.root(), exchange.request.headers(), HEADERS);
    String method = exchange.request.method().name();
    String path = exchange.request.path();
    Span span = tracer.spanBuilder(method + " " + path)
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(METHOD, method)
        .setAttribute(PATH, path)
        .startSpan();
    exchange.span = span;
    ContextInternal vertxContext = ContextInternal.current();
    if (vertxContext != null) {
      // The request's own (duplicated) context: it ends with the request, so the scope needs no closing.
      VertxContextStorage.INSTANCE.attach(vertxContext, parent.with(span));
    }
    return exchange.sendRequest();
  }

  @Override
  public void ended(ExchangeOutcome outcome) {
    Span span = outcome.span();
    if (span == null) {
      return;
    }
    if (outcome.model() != null) {
      span.setAttribute(REQUEST_MODEL, outcome.model());
    }
    if (outcome.metered()) {
      Usage usage = outcome.usage();
      span.setAttribute(INPUT_TOKENS, usage.promptTokens());
      span.setAttribute(OUTPUT_TOKENS, usage.completionTokens());
      span.setAttribute(USAGE_ESTIMATED, outcome.usageEstimated());
      span.setAttribute(STREAM, outcome.stream());
    }
    if (outcome.backendName() != null) {
      span.setAttribute(BACKEND, outcome.backendName());
    }
    if (outcome.decision() != null && outcome.decision().keyName() != null) {
      span.setAttribute(KEY_NAME, outcome.decision().keyName()); // the key's name only, never the key
    }
    span.setAttribute(RETRIES, outcome.retries());
    span.setAttribute(REQUEST_ID, outcome.requestId());
    span.setAttribute(STATUS, outcome.status());
    if (outcome.aborted()) {
      span.setAttribute(ABORTED, true);
    }
    if (outcome.status() >= 500) {
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  /** Marks on the span when the request reached a point of its walk: the waits for auth and the limits show between them. */
  static final class Event implements ExchangeInterceptor {

    private final String name;

    Event(String name) {
      this.name = name;
    }

    @Override
    public Future<Void> handleRequest(ApiExchange exchange) {
      exchange.span.addEvent(name);
      return exchange.sendRequest();
    }
  }
}
