package dev.llmproxy.auth.rules;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/** An address or CIDR block, IPv4 or IPv6. IPv4-mapped IPv6 addresses count as IPv4. */
public record IpRange(byte[] network, int prefixBits) {

  /** Parses {@code 10.0.0.1}, {@code 10.0.0.0/8}, {@code ::1}, {@code 2001:db8::/32}; empty when it is none of them. */
  public static Optional<IpRange> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    String value = text.trim();
    int slash = value.indexOf('/');
    String address = slash < 0 ? value : value.substring(0, slash);
    Optional<byte[]> bytes = literal(address);
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    int max = bytes.get().length * 8;
    int bits = max;
    if (slash >= 0) {
      try {
        bits = Integer.parseInt(value.substring(slash + 1));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
      if (bits < 0 || bits > max) {
        return Optional.empty();
      }
    }
    return Optional.of(new IpRange(bytes.get(), bits));
  }

  /**
   * The bytes of an IP literal. Only literals reach {@link InetAddress#getByName}, which would otherwise resolve
   * a host name and block the event loop.
   */
  public static Optional<byte[]> literal(String address) {
    if (address == null || address.isEmpty()) {
      return Optional.empty();
    }
    String a = address.trim();
    if (a.startsWith("[") && a.endsWith("]")) {
      a = a.substring(1, a.length() - 1);
    }
    int zone = a.indexOf('%');
    if (zone >= 0) {
      a = a.substring(0, zone);
    }
    boolean ipv6 = a.indexOf(':') >= 0 && a.matches("[0-9A-Fa-f:.]+");
    boolean ipv4 = a.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    if (!ipv4 && !ipv6) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(a).getAddress());
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }

  public boolean contains(byte[] address) {
    if (address.length != network.length) {
      return false;
    }
    int full = prefixBits / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) {
        return false;
      }
    }
    int rest = prefixBits % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (address[full] & mask) == (network[full] & mask);
  }
}
