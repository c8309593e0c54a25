package dev.llmproxy.common.util;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of addresses and CIDR ranges, IPv4 and IPv6 ({@code 10.0.0.0/8}, {@code ::1}, {@code 2001:db8::/32}).
 * Parsed once; {@link #contains} does no DNS lookup and no allocation beyond parsing the candidate.
 */
public final class IpRanges {

  private record Range(byte[] network, int prefixBits) {
    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int fullBytes = prefixBits / 8;
      for (int i = 0; i < fullBytes; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int restBits = prefixBits % 8;
      if (restBits == 0) {
        return true;
      }
      int mask = 0xff << (8 - restBits) & 0xff;
      return (address[fullBytes] & mask) == (network[fullBytes] & mask);
    }
  }

  private final List<Range> ranges;

  private IpRanges(List<Range> ranges) {
    this.ranges = ranges;
  }

  /** @throws IllegalArgumentException naming the entry that is neither an address nor a CIDR range */
  public static IpRanges parse(List<String> entries) {
    List<Range> ranges = new ArrayList<>();
    for (String entry : entries) {
      String trimmed = entry.trim();
      int slash = trimmed.indexOf('/');
      byte[] network = literal(slash < 0 ? trimmed : trimmed.substring(0, slash));
      if (network == null) {
        throw new IllegalArgumentException("not an IP address or CIDR range: " + entry);
      }
      int bits = network.length * 8;
      if (slash >= 0) {
        try {
          bits = Integer.parseInt(trimmed.substring(slash + 1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a CIDR prefix length: " + entry);
        }
        if (bits < 0 || bits > network.length * 8) {
          throw new IllegalArgumentException("CIDR prefix length out of range: " + entry);
        }
      }
      ranges.add(new Range(network, bits));
    }
    return new IpRanges(List.copyOf(ranges));
  }

  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  public boolean contains(String address) {
    if (ranges.isEmpty() || address == null) {
      return false;
    }
    byte[] bytes = literal(address);
    if (bytes == null) {
      return false;
    }
    for (Range range : ranges) {
      if (range.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  /** The bytes of an IP literal, or null when the text is not one. Never resolves a host name. */
  static byte[] literal(String text) {
    String host = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    boolean v6 = host.indexOf(':') >= 0;
    int dots = 0;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean allowed = v6 ? Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == '%' : c >= '0' && c <= '9' || c == '.';
      if (!allowed) {
        return null;
      }
      dots += c == '.' ? 1 : 0;
    }
    // Only literals reach InetAddress, so that it never turns into a DNS lookup.
    if (host.isEmpty() || !v6 && dots != 3) {
      return null;
    }
    try {
      return InetAddress.getByName(host).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
