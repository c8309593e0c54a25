package dev.llmproxy.launcher;

import dev.llmproxy.common.config.TracingConfig;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.tracing.opentelemetry.OpenTelemetryOptions;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * {@code tracing}: the OpenTelemetry SDK a gateway's Vert.x is built with (vertx-opentelemetry), exporting over
 * OTLP/HTTP through a batch span processor, whose own thread does the sending: a slow or unreachable collector
 * drops spans (the queue is bounded), it never holds a request. Off: no tracer at all.
 */
final class Tracing {

  /** The SDK of each Vert.x built with tracing on, for the proxy's server spans; weak, as the Vert.x may be dropped. */
  private static final Map<Vertx, OpenTelemetrySdk> SDKS = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * The SDK's own logger (java.util.logging), held so its handler stays: a failed export is a line of the gateway's
   * log, in its format, instead of a stack trace on stderr.
   */
  private static final java.util.logging.Logger SDK_LOG = java.util.logging.Logger.getLogger("io.opentelemetry");

  private Tracing() {
  }

  /** Adds the tracer to a Vert.x being built, when {@code config} turns tracing on. */
  static VertxBuilder install(VertxBuilder builder, VertxOptions options, OpenTelemetrySdk sdk) {
    if (sdk == null) {
      return builder;
    }
    options.setTracingOptions(new OpenTelemetryOptions());
    return builder.with(options).withTracer(new OpenTelemetryTracingFactory(sdk));
  }

  /** The SDK for {@code config}, or null when tracing is off. */
  static OpenTelemetrySdk sdk(TracingConfig config) {
    if (config == null || !config.enabled()) {
      return null;
    }
    synchronized (SDK_LOG) {
      if (SDK_LOG.getUseParentHandlers()) {
        SDK_LOG.setUseParentHandlers(false);
        SDK_LOG.addHandler(new SLF4JBridgeHandler());
      }
    }
    OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
        .setEndpoint(config.tracesUrl())
        .setTimeout(Duration.ofSeconds(10))
        .build();
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(
            Attributes.of(AttributeKey.stringKey("service.name"), config.serviceName()))))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.sampleRate())))
        .addSpanProcessor(BatchSpanProcessor.builder(exporter).build())
        .build();
    return OpenTelemetrySdk.builder()
        .setTracerProvider(provider)
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
  }

  /** Remembers {@code sdk} as {@code vertx}'s, and flushes and stops it when the Vert.x closes. */
  static Vertx attach(Vertx vertx, OpenTelemetrySdk sdk) {
    if (sdk != null) {
      SDKS.put(vertx, sdk);
      ((VertxInternal) vertx).addCloseHook(completion -> sdk.shutdown()
          .whenComplete(() -> completion.succeed()));
    }
    return vertx;
  }

  /** The SDK {@code vertx} was built with, or null when it traces nothing. */
  static OpenTelemetrySdk of(Vertx vertx) {
    return SDKS.get(vertx);
  }
}
