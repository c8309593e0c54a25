package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.util.RequestPath;
import dev.llmproxy.proxy.auth.AuthGate;
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
    String refusal = RequestPath.refusal(path);
    if (refusal != null) {
      // Before auth and routing: a path that a backend could read differently must not pass skip_paths.
      error(request.response(), new GatewayError(ErrorKind.INVALID_REQUEST, refusal));
      return;
    }
    if (path.startsWith("/v1/")) {
      // The API reads the body first: the auth question carries the request's model.
      new ApiExchange(context, request, Endpoint.of(path)).start();
    } else if (!context.auth.guards(probeCanonical(path)) || admin != null && AdminCall.isConsole(path)) {
      // The console's files are the same for everyone and hold no data: a browser cannot send an API key when it
      // opens a page. Every API call the console makes still goes through the key check and the admin token.
      serveOwn(request, path);
    } else {
      authorizeThenServeOwn(request, path);
    }
  }

  /**
   * The gateway's own paths (and unknown ones) outside {@code skip_paths}: the key is checked first, so that an
   * unknown path says nothing to a client without one. The body (the admin API's) waits meanwhile.
   */
  private void authorizeThenServeOwn(HttpServerRequest request, String path) {
    request.pause();
    String key = context.auth.keyOf(request.headers());
    context.auth.check(key, () -> new AuthCheck(key, context.clientAddress.of(request), request.method().name(), path,
        null, AuthGate.firstValues(request.headers()))).onComplete(answer -> {
      if (answer.failed()) {
        request.resume();
        error(request.response(), GatewayError.of(answer.cause()));
      } else {
        // Handlers first (the admin relay reads the body), then the body that waited.
        serveOwn(request, path);
        request.resume();
      }
    });
  }

  /**
   * Seed 002's probe paths are aliases: {@code /health/live} of {@code /health}, {@code /health/ready} of
   * {@code /ready}; each is open exactly when its original is (in {@code auth.skip_paths}).
   */
  private static String probeCanonical(String path) {
    return switch (path) {
      case "/health/live" -> "/health";
      case "/health/ready" -> "/ready";
      default -> path;
    };
  }

  private void serveOwn(HttpServerRequest request, String path) {
    if (path.equals("/health")) {
      json(request.response(), 200, "{\"status\":\"ok\"}");
    } else if (path.equals("/health/live")) {
      json(request.response(), 200, "{\"status\":\"ok\",\"live\":true,\"accepting\":"
          + context.environment.accepting() + "}");
    } else if (path.equals("/ready") || path.equals("/health/ready")) {
      ready(request.response());
    } else if (admin != null && path.startsWith("/admin/")) {
      admin.relay(request);
    } else if (metricsEnabled && path.equals(metricsPath)) {
      metrics(request);
    } else {
      error(request.response(), new GatewayError(ErrorKind.NOT_FOUND, "no route for " + request.method() + " " + path));
    }
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
    // In the dialect of the path when the request line could be read (a /v1/messages client gets Anthropic's shape).
    Dialect dialect = Endpoint.dialectOfTarget(request.uri());
    String requestId = RequestIds.next();
    HttpServerResponse response = request.response().putHeader("Connection", "close").putHeader("X-Request-ID", requestId);
    dialect.errorHeaders(response.headers(), requestId);
    response.setStatusCode(error.status()).putHeader("Content-Type", "application/json")
        .end(dialect.body(error, requestId)).onComplete(v -> request.connection().close());
  }

  private void ready(HttpServerResponse response) {
    context.readyCheck.check().onComplete(checked -> {
      if (checked.succeeded()) {
        json(response, checked.result().status(), checked.result().body().encode());
      } else {
        json(response, 503, "{\"status\":\"not ready\",\"ready\":false}");
      }
    });
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
