package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

import java.time.Instant;

/**
 * How one API exchange ended, built once when it ends and handed to every {@link ExchangeChain#outcomeSinks()
 * outcome sink}: metrics, the access and request logs, the usage record.
 *
 * @param request      the client's request (method, path, headers for the logs)
 * @param apiKey       the key the client presented, when auth checked one; never logged in clear
 * @param decision     auth's answer, or null when the path is not guarded (or auth did not answer)
 * @param inspected    the request body as read, or null when the exchange ended before it was read
 * @param backend      the backend that answered (or last failed), or null when none was tried
 * @param status       the status the client got; 499 when it left before an answer, 408 after a read timeout
 * @param ttftMs       time to the first relayed byte, -1 when none was relayed
 * @param aborted      the client left, or the backend failed, before the answer was complete
 * @param usage        what the request used ({@link ApiExchange}'s settlement); zero when nothing was used
 * @param caller       the custom metric labels' values, or null when none are configured
 * @param requestBody  the body as the client sent it (the request log's copy), or null
 * @param responseBody the copy of the answer the request log keeps, or null
 * @param hookRequest  the {@code request} table of the lifecycle hooks (with their metadata), or null when none ran
 * @param cached       the answer came from the response cache (no backend asked)
 * @param retries      the attempts after the first (other backends, or the same one again)
 * @param span         the exchange's server span, when tracing is on ({@link ExchangeTracing}); null otherwise
 * @param leftQueue    the client left while the request waited in flow control's queue (not metered)
 * @param cutOff       why the gateway ended the answer early ({@code quota_exceeded}), or null
 */
record ExchangeOutcome(HttpServerRequest request, Endpoint endpoint, String requestId, String clientIp, String apiKey,
    AuthDecision decision, InspectedRequest inspected, Backend backend, int status, Instant received, long latencyMs,
    long ttftMs, boolean aborted, Usage usage, boolean usageEstimated, ProxyMetrics.Caller caller, Buffer requestBody,
    BodyCapture responseBody, java.util.Map<String, Object> hookRequest, boolean cached, int retries,
    io.opentelemetry.api.trace.Span span, boolean leftQueue, String cutOff) {

  String model() {
    return inspected == null ? null : inspected.model();
  }

  boolean stream() {
    return inspected != null && inspected.stream();
  }

  String backendName() {
    return backend == null ? null : backend.name();
  }

  /** Usage is metered for this exchange: an inference request whose body was read, not one whose client left the queue. */
  boolean metered() {
    return inspected != null && endpoint.inference() && !leftQueue;
  }
}
