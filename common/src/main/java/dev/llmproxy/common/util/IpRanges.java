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

  /** For configuration: @throws IllegalArgumentException naming the entry that is neither an address nor a range */
  public static IpRanges parse(List<String> entries) {
    List<Range> ranges = new ArrayList<>();
    for (String entry : entries) {
      Range range = range(entry);
      if (range == null) {
        throw new IllegalArgumentException("not an IP address or CIDR range: " + entry);
      }
      ranges.add(range);
    }
    return new IpRanges(List.copyOf(ranges));
  }

  /** For data such as a key record's IP lists: entries that are no address or range are left out. */
  public static IpRanges parseLenient(List<String> entries) {
    List<Range> ranges = new ArrayList<>();
    for (String entry : entries) {
      Range range = range(entry);
      if (range != null) {
        ranges.add(range);
      }
    }
    return new IpRanges(List.copyOf(ranges));
  }

  private static Range range(String entry) {
    if (entry == null) {
      return null;
    }
    String trimmed = entry.trim();
    int slash = trimmed.indexOf('/');
    byte[] network = literal(slash < 0 ? trimmed : trimmed.substring(0, slash));
    if (network == null) {
      return null;
    }
    int bits = network.length * 8;
    if (slash >= 0) {
      try {
        bits = Integer.parseInt(trimmed.substring(slash + 1));
      } catch (NumberFormatException e) {
        return null;
      }
      if (bits < 0 || bits > network.length * 8) {
        return null;
      }
    }
    return new Range(network, bits);
  }

  /** True when the text is an IP literal (IPv4, IPv6, bracketed, with a zone id). */
  public static boolean isAddress(String text) {
    return text != null && literal(text) != null;
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

  /**
   * The bytes of an IP literal, or null when the text is not one. Only literals reach {@link InetAddress}, which
   * would otherwise resolve a host name and block the event loop. An IPv4-mapped IPv6 address comes back as IPv4.
   */
  static byte[] literal(String text) {
    String host = text.trim();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int zone = host.indexOf('%');
    if (zone >= 0) {
      host = host.substring(0, zone);
    }
    boolean v6 = host.indexOf(':') >= 0;
    int dots = 0;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean allowed = v6 ? Character.digit(c, 16) >= 0 || c == ':' || c == '.' : c >= '0' && c <= '9' || c == '.';
      if (!allowed) {
        return null;
      }
      dots += c == '.' ? 1 : 0;
    }
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
