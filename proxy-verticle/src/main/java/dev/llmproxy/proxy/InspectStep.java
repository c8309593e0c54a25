package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.Future;

/** Reads what the gateway needs of an inference body (model, stream, usage injection); other bodies pass as they are. */
final class InspectStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    try {
      // What is read of the body (model, stream; usage injection for OpenAI chat only) depends on the endpoint's dialect.
      exchange.inspected = RequestInspector.inspect(exchange.endpoint, exchange.body, exchange.context.prefixChars);
    } catch (GatewayError error) {
      return Future.failedFuture(error);
    }
    if (exchange.inspected.stream() && exchange.request.version() == HttpVersion.HTTP_1_0) {
      // HTTP/1.0 has no chunked encoding: a stream could only be ended by closing the connection, which a client
      // cannot tell from a backend that broke. Refused before anything is spent on it.
      return Future.failedFuture(new GatewayError(ErrorKind.HTTP_VERSION_NOT_SUPPORTED,
          "a streaming request needs HTTP/1.1 or later; send it over HTTP/1.1, or without \"stream\": true"));
    }
    return exchange.sendRequest();
  }
}
