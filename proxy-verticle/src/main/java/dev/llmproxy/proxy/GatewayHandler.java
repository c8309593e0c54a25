package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/** The entry of every HTTP request: the API under {@code /v1/}, and the gateway's own endpoints. */
final class GatewayHandler implements Handler<HttpServerRequest> {

  private static final String PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final ExchangeContext context;
  private final Cors cors;
  private final String metricsPath;
  private final boolean metricsEnabled;

  GatewayHandler(ExchangeContext context) {
    this.context = context;
    this.cors = new Cors(context.config.server().cors());
    this.metricsEnabled = context.config.metrics().enabled();
    this.metricsPath = context.config.metrics().path();
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (cors.enabled()) {
      if (cors.answerPreflight(request)) {
        return;
      }
      cors.decorate(request, request.response());
    }
    String path = request.path();
    if (path.startsWith("/v1/")) {
      new ApiExchange(context, request, Endpoint.of(path)).start();
    } else if (path.equals("/health")) {
      json(request.response(), 200, "{\"status\":\"ok\"}");
    } else if (path.equals("/ready")) {
      ready(request.response());
    } else if (metricsEnabled && path.equals(metricsPath)) {
      metrics(request);
    } else {
      error(request.response(), new GatewayError(ErrorKind.NOT_FOUND, "no route for " + request.method() + " " + path));
    }
  }

  private void ready(HttpServerResponse response) {
    if (!context.environment.accepting()) {
      json(response, 503, "{\"status\":\"starting or stopping\",\"ready\":false}");
    } else if (!context.snapshot().hasUsable()) {
      json(response, 503, "{\"status\":\"no usable backend\",\"ready\":false}");
    } else {
      json(response, 200, "{\"status\":\"ready\",\"ready\":true}");
    }
  }

  private void metrics(HttpServerRequest request) {
    if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
      request.response().putHeader("Allow", "GET");
      error(request.response(), new GatewayError(ErrorKind.METHOD_NOT_ALLOWED, "use GET on " + metricsPath));
      return;
    }
    // Scraping walks every meter: done off the event loop so that it never delays a token.
    context.vertx.executeBlocking(() -> context.environment.registry().scrape(), false)
        .onSuccess(text -> request.response().putHeader("Content-Type", PROMETHEUS_TYPE).end(text))
        .onFailure(e -> error(request.response(), GatewayError.of(e)));
  }

  private static void json(HttpServerResponse response, int status, String body) {
    response.setStatusCode(status).putHeader("Content-Type", "application/json").end(body);
  }

  static void error(HttpServerResponse response, GatewayError error) {
    response.setStatusCode(error.status()).putHeader("Content-Type", "application/json").end(error.toBuffer());
  }
}
