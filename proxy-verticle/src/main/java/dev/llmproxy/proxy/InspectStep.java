package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Future;

/** Reads what the gateway needs of an inference body (model, stream, usage injection); other bodies pass as they are. */
final class InspectStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    try {
      if (!exchange.endpoint.inference()) {
        exchange.inspected = InspectedRequest.passthrough(exchange.body);
      } else if (exchange.body.length() == 0) {
        throw new GatewayError(ErrorKind.INVALID_JSON, "the request body must be a JSON object; it is empty");
      } else {
        exchange.inspected = RequestInspector.inspect(exchange.body);
      }
    } catch (GatewayError error) {
      return Future.failedFuture(error);
    }
    return exchange.sendRequest();
  }
}
