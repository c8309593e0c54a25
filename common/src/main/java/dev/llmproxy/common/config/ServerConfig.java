package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code server}. A zero {@code writeTimeout}/{@code readTimeout}/{@code idleTimeout} means no limit
 * (the reference sets write to 0 for streaming). {@code trustedProxies} lists IPs or CIDRs whose
 * X-Forwarded-For is believed. {@code warmup} (ours, not the original's): how long the gateway drives its own request path
 * against an in-process backend before {@code /ready} turns true, so that the first clients meet compiled code.
 * {@code http2} (ours): with TLS, ALPN offers h2 beside HTTP/1.1 (as Go's server does); {@code h2c} (ours, off by
 * default as in the original): cleartext HTTP/2 on a port without TLS, by prior knowledge or {@code Upgrade: h2c}.
 */
public record ServerConfig(String listen, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
    int maxHeaderBytes, long maxBodySize, Duration shutdownTimeout, Duration warmup, List<String> trustedProxies, CorsConfig cors,
    TlsConfig tls, boolean http2, boolean h2c) {

  private static final Pattern HOST_PORT = Pattern.compile("^(\\[[0-9A-Fa-f:.%a-zA-Z]+\\]|[^:\\[\\]]*):(\\d{1,5})$");

  public ServerConfig {
    trustedProxies = Immutables.list(trustedProxies);
  }

  /** {@code ":8000"} gives {@code "0.0.0.0"}; brackets of an IPv6 literal are removed. */
  public String host() {
    return hostOf(listen).orElse("0.0.0.0");
  }

  public int port() {
    return portOf(listen).orElse(8000);
  }

  static boolean isHostPort(String address) {
    Matcher m = HOST_PORT.matcher(address);
    return m.matches() && Integer.parseInt(m.group(2)) <= 65535;
  }

  static Optional<String> hostOf(String address) {
    Matcher m = HOST_PORT.matcher(address);
    if (!m.matches()) {
      return Optional.empty();
    }
    String host = m.group(1);
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);
    }
    return Optional.of(host.isEmpty() ? "0.0.0.0" : host);
  }

  static Optional<Integer> portOf(String address) {
    Matcher m = HOST_PORT.matcher(address);
    return m.matches() ? Optional.of(Integer.parseInt(m.group(2))) : Optional.empty();
  }

  static ServerConfig read(ConfigReader r) {
    return new ServerConfig(
        r.string("listen", ":8000"),
        r.duration("read_timeout", Duration.ofSeconds(30)),
        r.duration("write_timeout", Duration.ofSeconds(60)),
        r.duration("idle_timeout", Duration.ofSeconds(120)),
        r.integer("max_header_bytes", 1_048_576),
        r.longValue("max_body_size", 10_485_760L),
        r.duration("shutdown_timeout", Duration.ofSeconds(30)),
        r.duration("warmup", Duration.ZERO),
        r.strings("trusted_proxies", List.of()),
        r.section("cors", CorsConfig::read),
        r.section("tls", TlsConfig::read),
        r.bool("http2", true),
        r.bool("h2c", false));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("listen", listen)
        .put("read_timeout", JsonOut.duration(readTimeout))
        .put("write_timeout", JsonOut.duration(writeTimeout))
        .put("idle_timeout", JsonOut.duration(idleTimeout))
        .put("max_header_bytes", maxHeaderBytes)
        .put("max_body_size", maxBodySize)
        .put("shutdown_timeout", JsonOut.duration(shutdownTimeout))
        .put("warmup", JsonOut.duration(warmup))
        .put("trusted_proxies", JsonOut.array(trustedProxies))
        .put("cors", cors.toJson())
        .put("tls", tls.toJson())
        .put("http2", http2)
        .put("h2c", h2c);
  }
}
