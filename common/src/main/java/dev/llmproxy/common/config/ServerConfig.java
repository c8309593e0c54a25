package dev.llmproxy.common.config;

import java.time.Duration;
import java.util.List;

// TEMPORARY STUB
public record ServerConfig(String listen, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
                           int maxHeaderBytes, long maxBodySize, Duration shutdownTimeout, List<String> trustedProxies,
                           CorsConfig cors, TlsConfig tls) {
  public String host() {
    int i = listen.lastIndexOf(':');
    String h = listen.substring(0, i);
    return h.isEmpty() ? "0.0.0.0" : h.replace("[", "").replace("]", "");
  }

  public int port() {
    return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
  }
}
