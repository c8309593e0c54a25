package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ServerConfig;
import dev.llmproxy.common.config.TlsConfig;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.tracing.TracingPolicy;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

/**
 * {@code server.*} as Vert.x server options. The three timeouts are {@link ConnectionGuard}'s on HTTP/1.x; on HTTP/2
 * {@code read_timeout} is {@link BodyReadStep}'s, per stream.
 */
final class ServerOptionsFactory {

  private ServerOptionsFactory() {
  }

  static HttpServerOptions from(ServerConfig server) {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(server.host())
        .setPort(server.port())
        .setTcpNoDelay(true)
        .setCompressionSupported(false)
        .setDecompressionSupported(false)
        .setHandle100ContinueAutomatically(true)
        .setMaxHeaderSize(server.maxHeaderBytes())
        // Cleartext HTTP/2 (prior knowledge, Upgrade: h2c) only when server.h2c asks for it, as Go's server needs an
        // h2c handler for it. Vert.x's idle timeout is left off: it counts a request waiting for its backend as idle.
        .setHttp2ClearTextEnabled(server.http2() && server.h2c() && !server.tls().enabled())
        // Vert.x's own server span would end before the exchange's outcome is known: ExchangeTracing makes it.
        .setTracingPolicy(TracingPolicy.IGNORE);
    TlsConfig tls = server.tls();
    if (tls.enabled()) {
      // ALPN offers h2 before HTTP/1.1 unless server.http2 is false, as Go's TLS server does.
      options.setUseAlpn(server.http2())
          .setAlpnVersions(server.http2() ? java.util.List.of(io.vertx.core.http.HttpVersion.HTTP_2,
              io.vertx.core.http.HttpVersion.HTTP_1_1) : java.util.List.of(io.vertx.core.http.HttpVersion.HTTP_1_1));
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
      if (tls.clientCaFile() != null && !tls.clientCaFile().isBlank()) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCaFile()));
      }
      options.setClientAuth(switch (tls.clientAuth() == null ? "none" : tls.clientAuth()) {
        case "request" -> ClientAuth.REQUEST;
        case "require" -> ClientAuth.REQUIRED;
        default -> ClientAuth.NONE;
      });
    }
    return options;
  }
}
