package dev.llmproxy.proxy;

import io.vertx.core.Future;

/**
 * {@code fault_injection}: picks the faults that apply to this request's path and model, once, after routing; the
 * forward step rolls them for each attempt on a backend and the relay cuts a stream where one says so. In the chain
 * only when a fault is configured; API exchanges only, so never {@code /admin}, {@code /health} or {@code /metrics}.
 */
final class FaultStep implements ExchangeInterceptor {

  private final FaultInjector injector;

  FaultStep(FaultInjector injector) {
    this.injector = injector;
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    exchange.faults = injector.select(exchange.request.path(), exchange.inspected.model());
    return exchange.sendRequest();
  }
}
