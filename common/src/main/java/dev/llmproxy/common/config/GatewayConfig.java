package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

// TEMPORARY STUB: replaced by the real config model (branch wt-config).
public record GatewayConfig(ServerConfig server, List<BackendConfig> backends, MetricsConfig metrics, RoutingConfig routing,
                            AuthConfig auth, AdminConfig admin, UsageConfig usage) {
  public static GatewayConfig fromJson(JsonObject j) {
    JsonObject s = j.getJsonObject("server", new JsonObject());
    JsonObject cors = s.getJsonObject("cors", new JsonObject());
    JsonObject tls = s.getJsonObject("tls", new JsonObject());
    List<BackendConfig> bs = new ArrayList<>();
    for (Object o : j.getJsonArray("backends", new JsonArray())) {
      JsonObject b = (JsonObject) o;
      Map<String, String> h = new java.util.HashMap<>();
      b.getJsonObject("headers", new JsonObject()).forEach(e -> h.put(e.getKey(), e.getValue().toString()));
      bs.add(new BackendConfig(b.getString("name", b.getString("url")), b.getString("url"), b.getInteger("weight", 1),
          Duration.ofMillis(b.getLong("timeout_ms", 60000L)), Duration.ofSeconds(5), 100, h, List.of()));
    }
    JsonObject m = j.getJsonObject("metrics", new JsonObject());
    return new GatewayConfig(
        new ServerConfig(s.getString("listen", ":8000"), Duration.ofMillis(s.getLong("read_timeout_ms", 30000L)), Duration.ofSeconds(60),
            Duration.ofSeconds(120), s.getInteger("max_header_bytes", 1048576), s.getLong("max_body_size", 10485760L),
            Duration.ofMillis(s.getLong("shutdown_timeout_ms", 30000L)), List.of(),
            new CorsConfig(cors.getBoolean("enabled", false), list(cors, "allowed_origins", "*"), list(cors, "allowed_methods", "GET", "POST", "OPTIONS"),
                list(cors, "allowed_headers", "Authorization", "Content-Type", "X-API-Key"), list(cors, "expose_headers"),
                cors.getBoolean("allow_credentials", false), cors.getInteger("max_age", 86400)),
            new TlsConfig(tls.getBoolean("enabled", false), tls.getString("cert_file"), tls.getString("key_file"), tls.getString("client_ca_file", ""), tls.getString("client_auth", "none"))),
        bs,
        new MetricsConfig(m.getBoolean("enabled", true), m.getString("path", "/metrics"), List.of(), List.of(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)),
        new RoutingConfig(true, "round_robin", Duration.ofSeconds(60), Duration.ofSeconds(5)),
        new AuthConfig(false, List.of("/health", "/ready", "/metrics"), List.of("Authorization", "X-API-Key"), false),
        new AdminConfig(false, null, "", "./data/keys.db", List.of()),
        new UsageConfig(true, "./data/usage-journal"));
  }

  private static List<String> list(JsonObject o, String k, String... def) {
    JsonArray a = o.getJsonArray(k);
    if (a == null) return List.of(def);
    List<String> r = new ArrayList<>();
    a.forEach(x -> r.add(x.toString()));
    return r;
  }
}
