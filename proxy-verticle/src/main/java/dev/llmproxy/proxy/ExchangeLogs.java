package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoggingConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LogFilter;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.model.Backend;
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
final class ExchangeLogs {

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

  /** An API exchange has ended (answered, failed or abandoned). */
  void finished(HttpServerRequest request, Endpoint endpoint, String requestId, String clientIp, String apiKey,
      AuthDecision decision, InspectedRequest inspected, Backend backend, int status, long latencyMs, boolean aborted,
      Buffer requestBody, BodyCapture responseBody) {
    if (access == null && requests == null) {
      return;
    }
    Instant received = Instant.now().minusMillis(latencyMs);
    String model = inspected == null ? null : inspected.model();
    if (access != null) {
      access.write(new AccessLog.Entry(request, received, clientIp, user(decision), status,
          request.response().bytesWritten(), latencyMs, requestId, model, backend == null ? null : backend.name()));
    }
    if (requests != null && endpoint.inference() && inspected != null) {
      requests.send(new RequestLog.Entry(request, received, requestId, clientIp, apiKey, decision, model,
          inspected.stream(), backend, status, latencyMs, aborted, requestBody, responseBody));
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
