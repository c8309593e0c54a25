package dev.llmproxy.proxy;

import io.vertx.core.Future;

/** Names the exchange: the client's {@code X-Request-ID} when it is usable, else a new one; and the client's address. */
final class RequestIdStep implements ExchangeInterceptor {

  /** A longer id is the client's mistake (or an attack on the logs): replaced. */
  private static final int MAX_ID_LENGTH = 200;

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    String given = exchange.request.getHeader("X-Request-ID");
    exchange.requestId = given == null || given.isEmpty() || given.length() > MAX_ID_LENGTH ? RequestIds.next() : given;
    exchange.peer = ClientAddress.peer(exchange.request);
    exchange.clientIp = exchange.context.clientAddress.of(exchange.request, exchange.peer);
    return exchange.sendRequest();
  }
}
