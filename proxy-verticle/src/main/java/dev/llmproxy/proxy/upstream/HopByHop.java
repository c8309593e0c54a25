package dev.llmproxy.proxy.upstream;

import io.vertx.core.MultiMap;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.Set;

/** Copies headers across the proxy, leaving out those that belong to one connection (RFC 9110 7.6.1). */
public final class HopByHop {

  private static final Set<String> HOP_BY_HOP = names("connection", "keep-alive", "proxy-connection", "te",
      "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization");

  private HopByHop() {
  }

  /** A set of header names that matches regardless of case, without lower-casing each candidate. */
  public static Set<String> names(String... names) {
    return names(List.of(names));
  }

  public static Set<String> names(Collection<String> names) {
    TreeSet<String> set = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    set.addAll(names);
    return Collections.unmodifiableSet(set);
  }

  /**
   * @param skip further names not to copy (such as {@code host} or {@code content-length}), made by {@link #names}
   */
  public static void copy(MultiMap from, MultiMap to, Set<String> skip) {
    String connection = from.get("connection");
    for (Map.Entry<String, String> header : from) {
      String name = header.getKey();
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
