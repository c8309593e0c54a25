package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
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
    if (exchange.eventStream) {
      watchForIdle(exchange, exchange.backend.timeoutMs());
    }
    return Future.succeededFuture();
  }

  /**
   * Once a stream flows, no total timeout applies: a long stream is fine. What is cut is a backend that goes
   * quiet for longer than its timeout. One timer per stream, moved on only when it fires, so a chunk costs a
   * time stamp. JSON answers, which arrive at once, are not watched.
   */
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
      exchange.upstreamRequest.reset();
      broke(exchange, new TimeoutException("no byte from the backend for " + quietMs + " ms"));
    });
  }

  /** An answer read whole for {@code on_response}: the backend's bytes feed the usage tap, the client gets the hook's. */
  private static void relayWhole(ApiExchange exchange) {
    exchange.firstByteNanos = exchange.lastByteNanos = System.nanoTime();
    exchange.tap.onChunk(exchange.bufferedAnswer);
    exchange.tap.onEnd();
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
    if (exchange.cutAfter > 0 && ++exchange.relayedChunks >= exchange.cutAfter && !exchange.finished) {
      // fault_injection's stream_cut_after: the backend's connection is reset as if it had died mid-answer.
      exchange.context.metrics.faultInjected(exchange.cutBy, "stream_cut");
      exchange.upstreamRequest.reset();
      broke(exchange, new IllegalStateException("stream cut by fault_injection (" + exchange.cutBy + ")"));
    }
  }

  private static void ended(ApiExchange exchange) {
    if (exchange.finished) {
      return;
    }
    Buffer rest = exchange.tap.onEnd();
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
    if (tap.atFrameBoundary() || tap != ResponseTap.NONE && exchange.inspected.usageInjected()) {
      response.end(exchange.endpoint.dialect().streamErrorFrame(STREAM_BROKE)); // the client's dialect's error frame
    } else {
      // A truncated non-SSE body must not look complete to the client.
      response.reset();
    }
    exchange.finish(true);
  }
}
