package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ServerConfig;

/**
 * What {@code server.listen} means to a person: whether it opens the port on every interface, and the address a
 * client on this machine would use ({@code ":8000"} listens everywhere, but a client calls
 * {@code http://localhost:8000}).
 */
record ListenAddress(boolean tls, String host, int port) {

  static ListenAddress of(ServerConfig server) {
    return new ListenAddress(server.tls().enabled(), server.host(), server.port());
  }

  boolean allInterfaces() {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0");
  }

  /** The base URL a client on this machine uses. */
  String clientUrl() {
    String at = allInterfaces() ? "localhost" : host.contains(":") ? "[" + host + "]" : host;
    return (tls ? "https://" : "http://") + at + ":" + port;
  }

  /** {@code ":8000 (all interfaces); clients use http://localhost:8000/v1"}. */
  String describe(String listen) {
    return listen + (allInterfaces() ? " (all interfaces)" : "") + "; clients use " + clientUrl() + "/v1";
  }
}
