package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.upstream.QuotaCutTap;
import dev.llmproxy.proxy.upstream.ResponseTap;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;

import java.util.concurrent.TimeoutException;

/**
 * The first step of the chain, so the last of the response walk: relays the answer's body as it comes, zero-copy
 * with backpressure, through the usage tap (which may filter an injected usage chunk out of a stream). A stream's
 * head leaves at once; a stream that goes quiet for longer than the backend's timeout is cut.
 */
final class Relay implements ExchangeInterceptor {

  private static final GatewayError STREAM_BROKE = new GatewayError(ErrorKind.UPSTREAM_FAILED,
      "the backend failed before the answer was complete");

  @Override
  public Future<Void> handleResponse(ApiExchange exchange) {
    if (exchange.bufferedAnswer != null) {
      relayWhole(exchange);
      return Future.succeededFuture();
    }
    HttpClientResponse upstream = exchange.upstreamResponse;
    if (exchange.eventStream) {
      // A streaming client learns that its request was accepted before the first token exists.
      exchange.response.writeHead();
    }
    upstream.handler(chunk -> relayChunk(exchange, chunk));
    upstream.exceptionHandler(cause -> broke(exchange, cause));
    upstream.endHandler(v -> ended(exchange));
    return Future.succeededFuture();
  }

  /**
   * Once an answer flows, no total timeout applies: a long stream is fine. What is cut is a backend that goes
   * quiet for longer than its timeout, in a stream or in the middle of a JSON body alike (Vert.x's request timeout
   * ends with the answer's head). One timer per answer, moved on only when it fires, so a chunk costs a time stamp.
   * Started by the forward step when an answer's head is accepted.
   */
  static void watchForIdle(ApiExchange exchange) {
    if (exchange.idleTimer >= 0) {
      exchange.context.vertx.cancelTimer(exchange.idleTimer);
    }
    watchForIdle(exchange, exchange.backend.timeoutMs());
  }

  private static void watchForIdle(ApiExchange exchange, long delayMs) {
    exchange.idleTimer = exchange.context.vertx.setTimer(Math.max(1, delayMs), t -> {
      exchange.idleTimer = -1;
      if (exchange.finished) {
        return;
      }
      long timeoutMs = exchange.backend.timeoutMs();
      long quietMs = (System.nanoTime() - exchange.lastByteNanos) / 1_000_000;
      if (quietMs < timeoutMs) {
        watchForIdle(exchange, timeoutMs - quietMs);
        return;
      }
      // The reset's own failure must not be taken for a second one (a second retry, a 502 for a 504).
      exchange.upstreamResponse.exceptionHandler(ignored -> { });
      exchange.upstreamRequest.reset();
      broke(exchange, new TimeoutException("no byte from the backend for " + quietMs + " ms"));
    });
  }

  /** An answer read whole for {@code on_response}: the backend's bytes feed the usage tap, the client gets the hook's. */
  private static void relayWhole(ApiExchange exchange) {
    exchange.firstByteNanos = exchange.lastByteNanos = System.nanoTime();
    if (exchange.tap instanceof QuotaCutTap strict) {
      // Read whole before the client got a byte (on_response, HTTP/1.0): nothing can be cut any more, so the
      // answer the client gets is metered in full, as under settle.
      exchange.tap = strict.inner();
    }
    if (exchange.bridge != DialectBridge.SAME && exchange.tap != ResponseTap.NONE) {
      // The hook saw the backend's dialect; the client gets its own, translated from what the hook left.
      Buffer translated = Buffer.buffer();
      Buffer part = exchange.tap.onChunk(exchange.answerBody);
      Buffer rest = endTap(exchange);
      if (rest == UNTRANSLATABLE) {
        return;
      }
      exchange.answerBody = translated.appendBuffer(part == null ? Buffer.buffer() : part)
          .appendBuffer(rest == null ? Buffer.buffer() : rest);
    } else {
      exchange.tap.onChunk(exchange.bufferedAnswer);
      exchange.tap.onEnd();
    }
    exchange.responseCopy = exchange.context.logs.capture(exchange.responseCopy, exchange.answerBody);
    exchange.pool.givenBack(exchange.upstreamRequest.connection());
    exchange.settleLimits(false);
    exchange.response.end(exchange.answerBody);
    exchange.finish(false);
  }

  private static void relayChunk(ApiExchange exchange, Buffer chunk) {
    exchange.lastByteNanos = System.nanoTime();
    if (exchange.firstByteNanos < 0) {
      exchange.firstByteNanos = exchange.lastByteNanos;
    }
    Buffer out = exchange.tap.onChunk(chunk);
    exchange.responseCopy = out == null ? exchange.responseCopy : exchange.context.logs.capture(exchange.responseCopy, out);
    HttpServerResponse response = exchange.response;
    if (out != null && out.length() > 0 && !exchange.finished) {
      response.write(out);
      if (response.writeQueueFull()) {
        HttpClientResponse upstream = exchange.upstreamResponse;
        upstream.pause();
        response.drainHandler(v -> upstream.resume());
      }
    }
    if (exchange.tap.cutShort() && !exchange.finished) {
      cutForQuota(exchange);
      return;
    }
    if (exchange.cutAfter > 0 && ++exchange.relayedChunks >= exchange.cutAfter && !exchange.finished) {
      // fault_injection's stream_cut_after: the backend's connection is reset as if it had died mid-answer.
      exchange.context.metrics.faultInjected(exchange.cutBy, "stream_cut");
      exchange.upstreamRequest.reset();
      broke(exchange, new IllegalStateException("stream cut by fault_injection (" + exchange.cutBy + ")"));
    }
  }

  /**
   * {@code auth.quota_enforcement: strict}: the tap has closed the client's stream (its last frames are written);
   * the backend's request is reset so that it stops generating, and the exchange ends as answered, marked cut. The
   * reset's own failure is not the backend's.
   */
  private static void cutForQuota(ApiExchange exchange) {
    exchange.cutOff = QuotaCutTap.REASON;
    exchange.upstreamResponse.handler(null);
    exchange.upstreamResponse.exceptionHandler(ignored -> { });
    exchange.upstreamResponse.endHandler(null);
    exchange.upstreamRequest.reset();
    exchange.settleLimits(false);
    exchange.response.end();
    exchange.finish(false);
  }

  private static void ended(ApiExchange exchange) {
    if (exchange.finished) {
      return;
    }
    Buffer rest = endTap(exchange);
    if (rest == UNTRANSLATABLE) {
      return;
    }
    if (exchange.tap.cutShort()) {
      // The allowance ran out on the stream's last events: closed the same way, though nothing is left to cancel.
      exchange.cutOff = QuotaCutTap.REASON;
    }
    exchange.pool.givenBack(exchange.upstreamRequest.connection());
    // Slots go back before the last byte leaves: a client's next request must never find its own slot taken.
    exchange.settleLimits(false);
    if (rest != null) {
      exchange.response.end(rest);
    } else {
      exchange.response.end();
    }
    exchange.finish(false);
  }

  /** What {@link #endTap} returns when the exchange has been answered with an error instead. */
  private static final Buffer UNTRANSLATABLE = Buffer.buffer();

  /** The tap's last output; a JSON answer that could not be translated becomes the client's error instead. */
  private static Buffer endTap(ApiExchange exchange) {
    try {
      return exchange.tap.onEnd();
    } catch (GatewayError untranslatable) {
      exchange.pool.givenBack(exchange.upstreamRequest.connection());
      exchange.fail(untranslatable);
      return UNTRANSLATABLE;
    }
  }

  private static void broke(ApiExchange exchange, Throwable cause) {
    if (exchange.finished || exchange.clientLeft) {
      return;
    }
    HttpServerResponse response = exchange.response;
    if (!response.headWritten()) {
      ForwardStep.failed(exchange, cause, ForwardStep.STALE_CONNECTION_RETRIES);
      return;
    }
    exchange.recordHealth(false);
    ResponseTap tap = exchange.tap;
    // An error frame only where the client reads SSE and no Content-Length promised it a body of another size (a
    // backend may answer a stream request with JSON and a Content-Length it does not honour).
    boolean frameFits = exchange.eventStream && response.isChunked();
    if (frameFits && (tap.atFrameBoundary() || tap != ResponseTap.NONE && exchange.inspected.usageInjected())) {
      response.end(exchange.endpoint.dialect().streamErrorFrame(STREAM_BROKE)); // the client's dialect's error frame
    } else {
      // A truncated body must not look complete to the client.
      response.reset();
    }
    exchange.finish(true);
  }
}
