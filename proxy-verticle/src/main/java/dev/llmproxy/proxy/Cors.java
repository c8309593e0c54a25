package dev.llmproxy.proxy;

import dev.llmproxy.common.config.CorsConfig;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/** {@code server.cors}: answers preflights and marks responses for allowed origins. */
final class Cors {

  private final CorsConfig config;
  private final boolean anyOrigin;
  private final String methods;
  private final String headers;
  private final String exposed;

  Cors(CorsConfig config) {
    this.config = config;
    this.anyOrigin = config.allowedOrigins().contains("*");
    this.methods = String.join(", ", config.allowedMethods());
    this.headers = String.join(", ", config.allowedHeaders());
    this.exposed = String.join(", ", config.exposeHeaders());
  }

  boolean enabled() {
    return config.enabled();
  }

  /** Answers a preflight request; false when the request is not one. */
  boolean answerPreflight(HttpServerRequest request) {
    if (request.method() != HttpMethod.OPTIONS || request.getHeader("Access-Control-Request-Method") == null) {
      return false;
    }
    HttpServerResponse response = request.response();
    if (decorate(request, response)) {
      response.putHeader("Access-Control-Allow-Methods", methods)
          .putHeader("Access-Control-Allow-Headers", headers)
          .putHeader("Access-Control-Max-Age", Integer.toString(config.maxAge()));
    }
    response.setStatusCode(204).end();
    return true;
  }

  /** Adds the CORS headers when the request's origin is allowed; true when it was. */
  boolean decorate(HttpServerRequest request, HttpServerResponse response) {
    String origin = request.getHeader("Origin");
    if (origin == null || !(anyOrigin || config.allowedOrigins().contains(origin))) {
      return false;
    }
    // With credentials a browser refuses "*": the origin itself must be echoed.
    boolean echo = config.allowCredentials() || !anyOrigin;
    response.putHeader("Access-Control-Allow-Origin", echo ? origin : "*");
    if (echo) {
      response.putHeader("Vary", "Origin");
    }
    if (config.allowCredentials()) {
      response.putHeader("Access-Control-Allow-Credentials", "true");
    }
    if (!exposed.isEmpty()) {
      response.putHeader("Access-Control-Expose-Headers", exposed);
    }
    return true;
  }
}
