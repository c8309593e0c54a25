package dev.llmproxy.proxy;

import dev.llmproxy.common.util.IpRanges;
import io.vertx.core.http.HttpServerRequest;

/**
 * The client's address: the peer, unless the peer is one of {@code server.trusted_proxies}; then the
 * right-most address of {@code X-Forwarded-For} that is not itself a trusted proxy.
 */
final class ClientAddress {

  private final IpRanges trusted;

  ClientAddress(IpRanges trusted) {
    this.trusted = trusted;
  }

  String of(HttpServerRequest request) {
    return of(request, peer(request));
  }

  /** The address of the connection's other end, or null when unknown (each call builds the string anew). */
  static String peer(HttpServerRequest request) {
    return request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
  }

  /** @param peer {@link #peer} of this request, when the caller has it already */
  String of(HttpServerRequest request, String peer) {
    if (trusted.isEmpty() || !trusted.contains(peer)) {
      return peer;
    }
    String forwarded = request.getHeader("X-Forwarded-For");
    if (forwarded == null) {
      return peer;
    }
    String[] hops = forwarded.split(",");
    for (int i = hops.length - 1; i >= 0; i--) {
      String hop = hops[i].trim();
      if (!hop.isEmpty() && !trusted.contains(hop)) {
        return hop;
      }
    }
    return peer;
  }
}
