package dev.llmproxy.proxy;

import io.vertx.core.Future;

/**
 * One step of an API exchange, as vertx-http-proxy's {@code ProxyInterceptor}: the chain is walked forward for the
 * request ({@link ApiExchange#sendRequest()} hands on to the next step) and back for the response
 * ({@link ApiExchange#sendResponse()} hands on to the previous one). A step is a singleton of its
 * {@link ExchangeChain}, shared by every exchange of one proxy verticle instance; what one request holds lives in
 * its {@link ApiExchange}.
 *
 * <p>A failed future carries the error the client gets ({@link dev.llmproxy.common.error.GatewayError}); the
 * exchange renders it in one place. A step that answers the client itself ends the exchange and returns
 * {@link ApiExchange#ENDED}.
 */
interface ExchangeInterceptor {

  /** This step's work on the request, then the next step's; completes once the backend's answer is in hand. */
  default Future<Void> handleRequest(ApiExchange exchange) {
    return exchange.sendRequest();
  }

  /** This step's work on the answer's status and headers (nothing has reached the client yet), then the previous step's. */
  default Future<Void> handleResponse(ApiExchange exchange) {
    return exchange.sendResponse();
  }
}
