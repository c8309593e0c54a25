package dev.llmproxy.proxy;

import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Future;

/** Reads what the gateway needs of an inference body (model, stream, usage injection); other bodies pass as they are. */
final class InspectStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    try {
      // What is read of the body (model, stream; usage injection for OpenAI chat only) depends on the endpoint's dialect.
      exchange.inspected = RequestInspector.inspect(exchange.endpoint, exchange.body);
    } catch (GatewayError error) {
      return Future.failedFuture(error);
    }
    return exchange.sendRequest();
  }
}
