package dev.llmproxy.proxy.upstream;

import io.vertx.core.MultiMap;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Copies headers across the proxy, leaving out those that belong to one connection (RFC 9110 7.6.1). */
public final class HopByHop {

  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
      "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization");

  private HopByHop() {
  }

  /**
   * @param skip further lower-case names not to copy (such as {@code host} or {@code content-length})
   */
  public static void copy(MultiMap from, MultiMap to, Set<String> skip) {
    String connection = from.get("connection");
    for (Map.Entry<String, String> header : from) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name) || skip.contains(name) || listedIn(connection, name)) {
        continue;
      }
      to.add(header.getKey(), header.getValue());
    }
  }

  private static boolean listedIn(String connection, String name) {
    if (connection == null) {
      return false;
    }
    for (String token : connection.split(",")) {
      if (token.trim().equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }
}
