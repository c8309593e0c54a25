package dev.llmproxy.proxy;

import dev.llmproxy.common.error.Dialect;
import io.vertx.core.http.HttpMethod;

/**
 * The API routes the gateway knows, and what it does with each. Every inference route, whatever its dialect, is
 * metered, limited (TPM reserved and settled, quota charged) and routed by its model the same way; the backend
 * receives the request in the dialect the client sent.
 */
enum Endpoint {
  CHAT_COMPLETIONS("/v1/chat/completions", HttpMethod.POST, Use.INFERENCE, Dialect.OPENAI),
  COMPLETIONS("/v1/completions", HttpMethod.POST, Use.INFERENCE, Dialect.OPENAI),
  EMBEDDINGS("/v1/embeddings", HttpMethod.POST, Use.INFERENCE, Dialect.OPENAI),
  /** OpenAI's Responses API. */
  RESPONSES("/v1/responses", HttpMethod.POST, Use.INFERENCE, Dialect.OPENAI_RESPONSES),
  /** Anthropic's Messages API. */
  MESSAGES("/v1/messages", HttpMethod.POST, Use.INFERENCE, Dialect.ANTHROPIC),
  /**
   * Anthropic's token counting: free at Anthropic, so not metered (no usage record, no TPM), but authenticated and
   * counted against RPM like every API call, and routed to a backend that serves its model.
   */
  MESSAGES_COUNT_TOKENS("/v1/messages/count_tokens", HttpMethod.POST, Use.MODEL_ROUTED, Dialect.ANTHROPIC),
  MODELS("/v1/models", HttpMethod.GET, Use.PASSTHROUGH, Dialect.OPENAI),
  /** Any other {@code /v1/*} path: forwarded with its method, query and body, untouched. */
  PASSTHROUGH(null, null, Use.PASSTHROUGH, Dialect.OPENAI);

  /** What the gateway does with a route's body and answer. */
  private enum Use {
    /** The body is JSON read for its model; the answer carries usage to read. */
    INFERENCE,
    /** The body is JSON read for its model; nothing is metered. */
    MODEL_ROUTED,
    PASSTHROUGH
  }

  private final String path;
  private final HttpMethod method;
  private final Use use;
  private final Dialect dialect;

  Endpoint(String path, HttpMethod method, Use use, Dialect dialect) {
    this.path = path;
    this.method = method;
    this.use = use;
    this.dialect = dialect;
  }

  /** The body is JSON to inspect, and the answer carries usage to read. */
  boolean inference() {
    return use == Use.INFERENCE;
  }

  /** The body is a JSON object whose {@code model} chooses the backend. */
  boolean routedByModel() {
    return use != Use.PASSTHROUGH;
  }

  /** The shape of the errors the gateway itself answers on this route. */
  Dialect dialect() {
    return dialect;
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

  /**
   * The dialect of the errors for a raw request target (a path, perhaps with a query; null when the request line
   * could not be read), for answers given before Vert.x has a request to ask.
   */
  static Dialect dialectOfTarget(String target) {
    if (target == null || !target.startsWith("/")) {
      return Dialect.OPENAI;
    }
    int query = target.indexOf('?');
    return of(query < 0 ? target : target.substring(0, query)).dialect();
  }

  /** {@link #values()} copies its array on every call: this one is read on every request. */
  private static final Endpoint[] ALL = values();

  static Endpoint of(String path) {
    String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    for (Endpoint endpoint : ALL) {
      if (trimmed.equals(endpoint.path)) {
        return endpoint;
      }
    }
    return PASSTHROUGH;
  }
}
