package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

/**
 * Refuses a method the endpoint does not take, then reads the whole body within {@code server.max_body_size}
 * (the API reads the body first: the auth question carries the request's model). {@code server.read_timeout} is
 * {@link ConnectionGuard}'s: it answers 408 and closes, and the exchange learns of it as a client that left.
 */
final class BodyReadStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    HttpServerRequest request = exchange.request;
    Endpoint endpoint = exchange.endpoint;
    if (!endpoint.allows(request.method())) {
      exchange.response.putHeader("Allow", endpoint.method().name());
      return Future.failedFuture(new GatewayError(ErrorKind.METHOD_NOT_ALLOWED,
          request.method() + " is not allowed on " + request.path() + "; use " + endpoint.method()));
    }
    long maxBodySize = exchange.context.maxBodySize;
    String declared = request.getHeader("Content-Length");
    if (declared != null && parseLength(declared) > maxBodySize) {
      return Future.failedFuture(exchange.tooLarge());
    }
    Promise<Void> read = Promise.promise();
    Body collected = new Body();
    request.handler(chunk -> {
      if (exchange.finished || read.future().isComplete()) {
        return;
      }
      if (collected.length() + chunk.length() > maxBodySize) {
        read.fail(exchange.tooLarge());
        return;
      }
      collected.add(chunk);
    });
    request.endHandler(v -> {
      if (!exchange.finished && !read.future().isComplete()) {
        exchange.body = collected.whole();
        read.complete();
      }
    });
    return read.future().compose(v -> exchange.sendRequest());
  }

  /**
   * The body's chunks joined. Most bodies come in one chunk: that chunk is the body, not copied (Vert.x hands a
   * request's chunks over as heap buffers of their own, not reused); a second chunk starts a copy.
   */
  private static final class Body {
    private Buffer first;
    private Buffer joined;

    int length() {
      return joined != null ? joined.length() : first != null ? first.length() : 0;
    }

    void add(Buffer chunk) {
      if (joined != null) {
        joined.appendBuffer(chunk);
      } else if (first == null) {
        first = chunk;
      } else {
        joined = Buffer.buffer(first.length() + chunk.length()).appendBuffer(first).appendBuffer(chunk);
        first = null;
      }
    }

    Buffer whole() {
      return joined != null ? joined : first != null ? first : Buffer.buffer();
    }
  }

  private static long parseLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
