package dev.llmproxy.proxy.limit;

/**
 * A limit a request hit.
 *
 * @param limit  what the client reads ({@code requests per minute for this key})
 * @param metric the {@code limit} tag of {@code llmproxy_ratelimit_rejections_total}
 * @param scope  {@code global}, {@code key} or {@code route}
 * @param tokens the limit counts tokens, so the {@code -tokens} headers describe it
 */
public record Denial(String limit, String metric, String scope, long value, long remaining, long retryAfterSeconds,
                     boolean tokens) {

  static Denial of(Kind kind, boolean global, long value, long remaining, long retryAfterSeconds) {
    return new Denial(kind.label + (global ? " for the gateway" : " for this key"), kind.metric,
        global ? "global" : "key", value, remaining, Math.max(1, retryAfterSeconds), kind == Kind.TPM);
  }

  /**
   * A route's limit ({@code rate_limit.routes}), counted per key or client address: the message names the route;
   * the metric's {@code limit} is {@code requests_per_<window>}.
   */
  static Denial ofRoute(RouteScope route, long retryAfterSeconds) {
    return new Denial("requests per " + route.per() + " on " + route.path()
        + (route.perKey() ? " for this key" : " for this client address"),
        routeMetric(route.per()), "route", route.limits().perWindow(), 0, Math.max(1, retryAfterSeconds), false);
  }

  static String routeMetric(String per) {
    return "requests_per_" + per;
  }

  enum Kind {
    RPS("requests per second", "requests_per_second"),
    RPM("requests per minute", "requests_per_minute"),
    TPM("tokens per minute", "tokens_per_minute"),
    CONCURRENT("concurrent requests", "max_concurrent");

    final String label;
    final String metric;

    Kind(String label, String metric) {
      this.label = label;
      this.metric = metric;
    }
  }
}
