package dev.llmproxy.proxy;

import dev.llmproxy.common.config.AffinityConfig;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.auth.AuthGate;
import io.vertx.core.Future;

import java.util.HashMap;
import java.util.Map;

/**
 * Chooses the backend the forward step tries first ({@code routing}: strategy, affinity, routing script); answers
 * {@code /v1/models} itself from the backends' catalogue.
 */
final class RouteStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    if (exchange.endpoint == Endpoint.MODELS) {
      return exchange.context.models.list().transform(list -> {
        if (!exchange.finished) {
          exchange.response.putHeader("Content-Type", "application/json")
              .putHeader("X-Request-ID", exchange.requestId).end(list.result());
          exchange.finish(false);
        }
        return ApiExchange.ENDED;
      });
    }
    try {
      exchange.chosen = choose(exchange);
    } catch (GatewayError error) {
      return Future.failedFuture(error);
    }
    return exchange.sendRequest();
  }

  /** The next backend for this exchange, not one it has tried unless the strategy allows; throws when none is left. */
  static Backend choose(ApiExchange exchange) {
    return exchange.context.router.choose(exchange.inspected.model(), exchange.tried, affinityKey(exchange),
        exchange.inspected.promptPrefix(), () -> scriptView(exchange));
  }

  /** The request as a routing script sees it. */
  private static Map<String, Object> scriptView(ApiExchange exchange) {
    Map<String, Object> view = new HashMap<>();
    view.put("model", exchange.inspected.model());
    view.put("path", exchange.request.path());
    view.put("method", exchange.request.method().name());
    view.put("client_ip", exchange.clientIp);
    view.put("user_id", exchange.decision == null ? null : exchange.decision.userId());
    view.put("stream", exchange.inspected.stream());
    view.put("headers", AuthGate.firstValues(exchange.request.headers()));
    return view;
  }

  private static String affinityKey(ApiExchange exchange) {
    AffinityConfig affinity = exchange.context.routing.affinity();
    if (!affinity.enabled()) {
      return null;
    }
    if (!affinity.header().isEmpty()) {
      String session = exchange.request.getHeader(affinity.header());
      if (session != null && !session.isEmpty()) {
        return session;
      }
    }
    return "user_id".equals(affinity.key()) && exchange.decision != null && exchange.decision.userId() != null
        ? exchange.decision.userId() : exchange.apiKey;
  }
}
