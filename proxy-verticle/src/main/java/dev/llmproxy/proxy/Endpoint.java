package dev.llmproxy.proxy;

import io.vertx.core.http.HttpMethod;

/** The API routes the gateway knows, and what it does with each. */
enum Endpoint {
  CHAT_COMPLETIONS("/v1/chat/completions", HttpMethod.POST, true),
  COMPLETIONS("/v1/completions", HttpMethod.POST, true),
  EMBEDDINGS("/v1/embeddings", HttpMethod.POST, true),
  MODELS("/v1/models", HttpMethod.GET, false),
  /** Any other {@code /v1/*} path: forwarded with its method, query and body, untouched. */
  PASSTHROUGH(null, null, false);

  private final String path;
  private final HttpMethod method;
  private final boolean inference;

  Endpoint(String path, HttpMethod method, boolean inference) {
    this.path = path;
    this.method = method;
    this.inference = inference;
  }

  /** The body is JSON to inspect, and the answer carries usage to read. */
  boolean inference() {
    return inference;
  }

  boolean allows(HttpMethod requested) {
    return method == null || method.equals(requested) || (method == HttpMethod.GET && requested == HttpMethod.HEAD);
  }

  HttpMethod method() {
    return method;
  }

  /** A short label for metrics: known paths by name, the rest together, so that labels stay bounded. */
  String metricsLabel() {
    return path == null ? "/v1/other" : path;
  }

  static Endpoint of(String path) {
    String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    for (Endpoint endpoint : values()) {
      if (trimmed.equals(endpoint.path)) {
        return endpoint;
      }
    }
    return PASSTHROUGH;
  }
}
