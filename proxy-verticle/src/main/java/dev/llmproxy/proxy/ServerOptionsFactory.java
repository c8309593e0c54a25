package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ServerConfig;
import dev.llmproxy.common.config.TlsConfig;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.util.concurrent.TimeUnit;

/** {@code server.*} as Vert.x server options. */
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
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, server.idleTimeout().toMillis()));
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
