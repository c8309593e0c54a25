package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoggingConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LogFilter;
import dev.llmproxy.common.lua.ScriptLoader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

import java.time.Instant;

/**
 * Hands each answered request to the logs {@code logging} asks for: the access log (every HTTP request) and the
 * request log (inference requests). Both are off unless {@code logging.enabled}; when both are off a finished
 * exchange costs one branch. One instance per proxy verticle instance.
 */
final class ExchangeLogs implements OutcomeSink {

  /** Null when the access log is off. */
  private final AccessLog access;
  /** Null when the request log is off. */
  private final RequestLog requests;
  private final ClientAddress clientAddress;
  private final ScriptConfig accessScript;

  ExchangeLogs(Vertx vertx, GatewayConfig config, ClientAddress clientAddress) {
    LoggingConfig logging = config.logging();
    this.access = logging.enabled() && logging.access().enabled() ? new AccessLog(logging.access()) : null;
    this.requests = logging.enabled() && logging.request().enabled() ? new RequestLog(vertx, config) : null;
    this.clientAddress = clientAddress;
    this.accessScript = logging.access().script();
  }

  /** Compiles {@code logging.access.script} when the access log uses one; a script that does not load fails the start. */
  Future<Void> loadScripts(Vertx vertx) {
    if (access == null || !accessScript.enabled()) {
      return Future.succeededFuture();
    }
    return ScriptLoader.load(vertx, accessScript, "logging.access.script")
        .map(script -> {
          access.filter(new LogFilter(script, "logging.access.script"));
          return null;
        });
  }

  /**
   * The response body copy of one exchange for the request log: {@code capture} with {@code chunk} added, created
   * on the first chunk; stays null unless {@code include_body} is on.
   */
  BodyCapture capture(BodyCapture capture, Buffer chunk) {
    if (requests == null || !requests.includeBody()) {
      return null;
    }
    BodyCapture into = capture == null ? new BodyCapture() : capture;
    into.add(chunk);
    return into;
  }

  /** Some log wants finished exchanges; when none does, the chain leaves this sink out. */
  boolean enabled() {
    return access != null || requests != null;
  }

  /** An API exchange has ended (answered, failed or abandoned). */
  @Override
  public void ended(ExchangeOutcome outcome) {
    HttpServerRequest request = outcome.request();
    if (access != null) {
      access.write(new AccessLog.Entry(request, outcome.received(), outcome.clientIp(), user(outcome.decision()),
          outcome.status(), request.response().bytesWritten(), outcome.latencyMs(), outcome.requestId(),
          outcome.model(), outcome.backendName()));
    }
    if (requests != null && outcome.metered()) {
      requests.send(new RequestLog.Entry(request, outcome.received(), outcome.requestId(), outcome.clientIp(),
          outcome.apiKey(), outcome.decision(), outcome.model(), outcome.stream(), outcome.backend(), outcome.status(),
          outcome.latencyMs(), outcome.aborted(), outcome.requestBody(), outcome.responseBody()));
    }
  }

  /** The gateway's own endpoints ({@code /health}, {@code /metrics}, admin, 404s): an access line once answered. */
  void watch(HttpServerRequest request) {
    if (access == null) {
      return;
    }
    long startNanos = System.nanoTime();
    request.response().endHandler(v -> {
      long latencyMs = (System.nanoTime() - startNanos) / 1_000_000;
      access.write(new AccessLog.Entry(request, Instant.now().minusMillis(latencyMs), clientAddress.of(request), null,
          request.response().getStatusCode(), request.response().bytesWritten(), latencyMs, null, null, null));
    });
  }

  /** The access log's user: the key's name, else its id; never the key itself. */
  private static String user(AuthDecision decision) {
    if (decision == null) {
      return null;
    }
    return decision.keyName() != null && !decision.keyName().isEmpty() ? decision.keyName() : decision.keyId();
  }
}
