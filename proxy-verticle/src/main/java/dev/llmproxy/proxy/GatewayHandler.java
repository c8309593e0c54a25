package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Future;
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
  /** Null unless the admin API is mounted on this port. */
  private final AdminRelay admin;

  GatewayHandler(ExchangeContext context) {
    this.context = context;
    this.cors = new Cors(context.config.server().cors());
    this.metricsEnabled = context.config.metrics().enabled();
    this.metricsPath = context.config.metrics().path();
    boolean adminHere = context.config.admin().enabled() && context.config.admin().listen().isEmpty();
    this.admin = adminHere ? new AdminRelay(context.vertx, context.clientAddress) : null;
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (!request.path().startsWith("/v1/")) {
      context.logs.watch(request);
    }
    if (cors.enabled()) {
      if (cors.answerPreflight(request)) {
        return;
      }
      cors.decorate(request, request.response());
    }
    String path = request.path();
    if (hasDotSegment(path)) {
      // Backends resolve "..": a path that changes meaning after our routing and skip_paths must not pass.
      error(request.response(), new GatewayError(ErrorKind.INVALID_REQUEST, "the path must not contain '.' or '..' segments"));
      return;
    }
    if (path.startsWith("/v1/")) {
      new ApiExchange(context, request, Endpoint.of(path)).start();
    } else if (path.equals("/health")) {
      json(request.response(), 200, "{\"status\":\"ok\"}");
    } else if (path.equals("/ready")) {
      ready(request.response());
    } else if (admin != null && path.startsWith("/admin/")) {
      admin.relay(request);
    } else if (metricsEnabled && path.equals(metricsPath)) {
      metrics(request);
    } else {
      error(request.response(), new GatewayError(ErrorKind.NOT_FOUND, "no route for " + request.method() + " " + path));
    }
  }

  static boolean hasDotSegment(String path) {
    if (path.indexOf('.') < 0 && path.indexOf('%') < 0) {
      return false;
    }
    String decoded = path.replace("%2e", ".").replace("%2E", ".").replace("%2f", "/").replace("%2F", "/")
        .replace("%5c", "/").replace("%5C", "/").replace('\\', '/');
    for (String segment : decoded.split("/", -1)) {
      if (segment.equals(".") || segment.equals("..")) {
        return true;
      }
    }
    return false;
  }

  /** Requests the HTTP decoder rejected (line or headers too long, malformed): the same error shape as the rest. */
  static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    GatewayError error;
    if (cause instanceof TooLongHttpLineException) {
      error = new GatewayError(ErrorKind.URI_TOO_LONG, "the request line is too long");
    } else if (cause instanceof TooLongHttpHeaderException) {
      error = new GatewayError(ErrorKind.HEADERS_TOO_LARGE, "the request headers are larger than server.max_header_bytes");
    } else {
      error = new GatewayError(ErrorKind.INVALID_REQUEST, "the request is not valid HTTP");
    }
    HttpServerResponse response = request.response().putHeader("Connection", "close");
    error(response, error).onComplete(v -> request.connection().close());
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

  static Future<Void> error(HttpServerResponse response, GatewayError error) {
    return response.setStatusCode(error.status()).putHeader("Content-Type", "application/json").end(error.toBuffer());
  }
}
