package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code server.cors}; {@code maxAge} is the preflight cache time in seconds. */
public record CorsConfig(boolean enabled, List<String> allowedOrigins, List<String> allowedMethods,
    List<String> allowedHeaders, List<String> exposeHeaders, boolean allowCredentials, int maxAge) {

  public CorsConfig {
    allowedOrigins = Immutables.list(allowedOrigins);
    allowedMethods = Immutables.list(allowedMethods);
    allowedHeaders = Immutables.list(allowedHeaders);
    exposeHeaders = Immutables.list(exposeHeaders);
  }

  static CorsConfig read(ConfigReader r) {
    return new CorsConfig(
        r.bool("enabled", false),
        r.strings("allowed_origins", List.of("*")),
        r.strings("allowed_methods", List.of("GET", "POST", "OPTIONS")),
        r.strings("allowed_headers", List.of("Authorization", "Content-Type", "X-API-Key")),
        r.strings("expose_headers", List.of()),
        r.bool("allow_credentials", false),
        r.integer("max_age", 86400));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("allowed_origins", JsonOut.array(allowedOrigins))
        .put("allowed_methods", JsonOut.array(allowedMethods))
        .put("allowed_headers", JsonOut.array(allowedHeaders))
        .put("expose_headers", JsonOut.array(exposeHeaders))
        .put("allow_credentials", allowCredentials)
        .put("max_age", maxAge);
  }
}
