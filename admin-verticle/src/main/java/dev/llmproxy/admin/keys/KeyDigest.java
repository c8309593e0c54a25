package dev.llmproxy.admin.keys;

import dev.llmproxy.common.bus.KeyHash;

/**
 * What the store keeps of a key instead of the key: its SHA-256 (the same lower-case hex the auth verticle asks
 * {@code llmproxy.keys.lookup} with) and a short prefix an operator can recognise it by.
 */
public final class KeyDigest {

  private static final int MAX_PREFIX = 6;

  private KeyDigest() {
  }

  public static String sha256Hex(String key) {
    return KeyHash.sha256Hex(key);
  }

  /** {@code sk-abc…}; at most half of a short key, so that the prefix never gives the key away. */
  public static String displayPrefix(String key) {
    int length = Math.min(MAX_PREFIX, key.length() / 2);
    return key.substring(0, length) + "…";
  }
}
