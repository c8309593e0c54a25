package dev.llmproxy.proxy;

import dev.llmproxy.common.error.GatewayError;

import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.proxy.auth.AuthGate;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;

/** Asks auth about the request's key, unless its path is outside auth ({@code skip_paths}, auth off). */
final class AuthStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    AuthGate auth = exchange.context.auth;
    HttpServerRequest request = exchange.request;
    if (!auth.guards(request.path())) {
      return exchange.sendRequest();
    }
    String key = auth.keyOf(request.headers());
    AuthDecision known = auth.known(key);
    if (known != null && known.allow()) {
      // A key the JVM knows, allowed: the walk goes on at once (no future, no callback per request).
      return admitted(exchange, key, known);
    }
    return auth.check(key, () -> new AuthCheck(key, exchange.clientIp, request.method().name(), request.path(),
        exchange.inspected.model(), AuthGate.firstValues(request.headers()))).compose(
        decision -> admitted(exchange, key, decision), failure -> {
          if (failure instanceof GatewayError error && "auth_unavailable".equals(error.code())) {
            exchange.context.metrics.authUnavailable();
          }
          return Future.failedFuture(failure);
        });
  }

  private static Future<Void> admitted(ApiExchange exchange, String key, AuthDecision decision) {
    exchange.apiKey = key;
    exchange.decision = decision;
    if (decision.remainingQuota() != null) {
      // The quota left is as of now: what the key's tally grows by from here is taken off it.
      exchange.quotaMark = exchange.context.environment.quotaTally().relayed(decision.keyId());
    }
    return exchange.sendRequest();
  }
}
