package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code server.tls}; {@code clientAuth} is none, request or require. */
public record TlsConfig(boolean enabled, String certFile, String keyFile, String clientCaFile, String clientAuth) {

  static TlsConfig read(ConfigReader r) {
    return new TlsConfig(
        r.bool("enabled", false),
        r.string("cert_file", ""),
        r.string("key_file", ""),
        r.string("client_ca_file", ""),
        r.string("client_auth", "none"));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("cert_file", certFile)
        .put("key_file", keyFile)
        .put("client_ca_file", clientCaFile)
        .put("client_auth", clientAuth);
  }
}
