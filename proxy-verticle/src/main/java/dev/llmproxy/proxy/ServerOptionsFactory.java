package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ServerConfig;
import dev.llmproxy.common.config.TlsConfig;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.tracing.TracingPolicy;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

/** {@code server.*} as Vert.x server options; the three timeouts are {@link ConnectionGuard}'s. */
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
        // HTTP/1.x only, as Go's server without an h2c handler: ConnectionGuard applies the timeouts to it. Vert.x's
        // idle timeout is left off: it counts a request waiting for its backend as idle.
        .setHttp2ClearTextEnabled(false)
        // Vert.x's own server span would end before the exchange's outcome is known: ExchangeTracing makes it.
        .setTracingPolicy(TracingPolicy.IGNORE);
    TlsConfig tls = server.tls();
    if (tls.enabled()) {
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
