package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

import java.util.List;
import java.util.Locale;

/**
 * Refuses a method the endpoint does not take, then reads the whole body within {@code server.max_body_size}
 * (the API reads the body first: the auth question carries the request's model). On the JSON routes the gateway
 * reads (those routed by model), the body's Content-Type must be one a JSON client sends and its
 * {@code Content-Encoding} one the gateway undoes ({@link BodyInflater}): the inflated body counts against the cap,
 * and it is what the backend receives. {@code server.read_timeout} is {@link ConnectionGuard}'s on HTTP/1.x (it
 * answers 408 and closes, and the exchange learns of it as a client that left); on HTTP/2 it is this step's, per
 * stream: a body not in within it gets a 408 on its stream.
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
    BodyInflater inflater = null;
    if (endpoint.routedByModel()) {
      String refusal = contentTypeRefusal(request.getHeader("Content-Type"));
      if (refusal != null) {
        return Future.failedFuture(new GatewayError(ErrorKind.UNSUPPORTED_MEDIA_TYPE, refusal));
      }
      List<String> encodings = request.headers().getAll("Content-Encoding");
      if (!encodings.isEmpty()) {
        try {
          inflater = BodyInflater.forEncoding(encodings, maxBodySize, exchange::tooLarge);
        } catch (GatewayError unsupported) {
          return Future.failedFuture(unsupported);
        }
      }
    }
    BodyInflater decoder = inflater;
    Promise<Void> read = Promise.promise();
    Body collected = new Body();
    Buffer inflated = decoder == null ? null : Buffer.buffer();
    long[] received = {0}; // bytes as sent: for an encoded body, more than inflated holds
    long readTimer = http2ReadTimer(exchange, read);
    request.handler(chunk -> {
      if (exchange.finished || read.future().isComplete()) {
        return;
      }
      received[0] += chunk.length();
      if (received[0] > maxBodySize) { // an inflater counts what it inflates against the cap itself
        fail(read, decoder, exchange.tooLarge());
        return;
      }
      if (decoder == null) {
        collected.add(chunk);
        return;
      }
      try {
        decoder.feed(chunk, inflated);
      } catch (GatewayError refused) {
        fail(read, decoder, refused);
      }
    });
    request.endHandler(v -> {
      if (!exchange.finished && !read.future().isComplete()) {
        try {
          if (decoder != null) {
            decoder.finish(inflated);
            exchange.body = inflated;
          } else {
            exchange.body = collected.whole();
          }
          read.complete();
        } catch (GatewayError refused) {
          fail(read, decoder, refused);
        }
      }
    });
    request.exceptionHandler(e -> {
      if (decoder != null) {
        decoder.end();
      }
    });
    if (readTimer >= 0) {
      read.future().onComplete(done -> exchange.context.vertx.cancelTimer(readTimer));
    }
    return read.future().compose(v -> exchange.sendRequest());
  }

  private static void fail(Promise<Void> read, BodyInflater decoder, GatewayError error) {
    if (decoder != null) {
      decoder.end();
    }
    read.tryFail(error);
  }

  /**
   * On HTTP/2, {@code server.read_timeout} from the stream's start to its body's end: a 408 on the stream when it
   * expires ({@link ConnectionGuard} serves HTTP/1.x, whose connection carries one request at a time). -1: no timer.
   */
  private static long http2ReadTimer(ApiExchange exchange, Promise<Void> read) {
    long limitNanos = exchange.context.config.server().readTimeout().toNanos();
    if (exchange.request.version() != HttpVersion.HTTP_2 || limitNanos <= 0 || exchange.request.isEnded()) {
      return -1;
    }
    long leftMs = Math.max(1, (exchange.startNanos + limitNanos - System.nanoTime()) / 1_000_000);
    return exchange.context.vertx.setTimer(leftMs, id -> read.tryFail(new GatewayError(ErrorKind.REQUEST_TIMEOUT,
        "the request did not arrive within server.read_timeout")));
  }

  /**
   * Why a request body's Content-Type is refused on a JSON route, or null when it is accepted: JSON
   * ({@code application/json}, {@code application/*+json}) in UTF-8 or without a charset; and, because curl's
   * {@code -d} sends {@code application/x-www-form-urlencoded} and a browser's {@code fetch} of a string
   * {@code text/plain}, those two and no Content-Type at all when the body is JSON (which the inspection checks).
   * Anything else (multipart, XML, a charset other than UTF-8, a value that is no media type) is refused: the
   * gateway would otherwise read the body as something it is not.
   */
  static String contentTypeRefusal(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String[] parts = header.split(";");
    String type = parts[0].trim().toLowerCase(Locale.ROOT);
    boolean accepted = type.equals("application/json") || type.startsWith("application/") && type.endsWith("+json")
        || type.equals("application/x-www-form-urlencoded") || type.equals("text/plain");
    if (!accepted) {
      return "Content-Type " + BodyInflater.printable(parts[0].trim()) + " is not accepted here; send the request "
          + "body as JSON with Content-Type: application/json";
    }
    for (int i = 1; i < parts.length; i++) {
      String parameter = parts[i].trim();
      int equals = parameter.indexOf('=');
      if (equals > 0 && parameter.substring(0, equals).trim().equalsIgnoreCase("charset")) {
        String charset = parameter.substring(equals + 1).trim().replace("\"", "");
        if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
          return "the request body must be UTF-8 JSON; Content-Type declares charset=" + BodyInflater.printable(charset)
              + " (send it in UTF-8, with charset=utf-8 or no charset)";
        }
      }
    }
    return null;
  }

  /**
   * The body's chunks joined. Most bodies come in one chunk: that chunk is the body, not copied (Vert.x hands a
   * request's chunks over as heap buffers of their own, not reused); a second chunk starts a copy.
   */
  private static final class Body {
    private Buffer first;
    private Buffer joined;

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
