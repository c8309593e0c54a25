package dev.llmproxy.proxy.upstream;

import io.vertx.core.MultiMap;

import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
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
    return new HeaderNames(names);
  }

  /**
   * @param skip further names not to copy (such as {@code host} or {@code content-length}), made by {@link #names}
   */
  public static void copy(MultiMap from, MultiMap to, Set<String> skip) {
    String connection = from.get("connection");
    // forEach, not the iterator: Vert.x's own header map walks its entries without a wrapper per header
    from.forEach((name, value) -> {
      if (!HOP_BY_HOP.contains(name) && !skip.contains(name) && !listedIn(connection, name)) {
        to.add(name, value);
      }
    });
  }

  /**
   * Header names as a set that ignores case as {@link String#CASE_INSENSITIVE_ORDER} does, probed per header of every
   * request: open addressing over the names folded once, the candidate folded char by char as it is hashed and
   * compared (a tree of case-insensitive comparisons cost ~2 % of an event loop's time, and nothing is allocated here).
   */
  static final class HeaderNames extends AbstractSet<String> {
    private final List<String> names;
    /** The folded names, each at its hash's slot or after it; a power of two at least twice their number. */
    private final String[] table;

    HeaderNames(Collection<String> given) {
      TreeSet<String> distinct = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
      distinct.addAll(given);
      this.names = List.copyOf(distinct);
      int size = Integer.highestOneBit(Math.max(4, names.size() * 2 - 1)) << 1;
      this.table = new String[size];
      for (String name : names) {
        StringBuilder folded = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
          folded.append(fold(name.charAt(i)));
        }
        int slot = hash(name) & (size - 1);
        while (table[slot] != null) {
          slot = (slot + 1) & (size - 1);
        }
        table[slot] = folded.toString();
      }
    }

    private static char fold(char c) {
      if (c < 128) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
      }
      return Character.toLowerCase(Character.toUpperCase(c));
    }

    private static int hash(CharSequence name) {
      int h = 0;
      for (int i = 0; i < name.length(); i++) {
        h = 31 * h + fold(name.charAt(i));
      }
      return h ^ (h >>> 16);
    }

    @Override
    public boolean contains(Object candidate) {
      if (!(candidate instanceof CharSequence name)) {
        return false;
      }
      int mask = table.length - 1;
      for (int slot = hash(name) & mask; ; slot = (slot + 1) & mask) {
        String entry = table[slot];
        if (entry == null) {
          return false;
        }
        if (sameFolded(entry, name)) {
          return true;
        }
      }
    }

    private static boolean sameFolded(String folded, CharSequence name) {
      int n = folded.length();
      if (n != name.length()) {
        return false;
      }
      for (int i = 0; i < n; i++) {
        if (folded.charAt(i) != fold(name.charAt(i))) {
          return false;
        }
      }
      return true;
    }

    @Override
    public Iterator<String> iterator() {
      return names.iterator();
    }

    @Override
    public int size() {
      return names.size();
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
