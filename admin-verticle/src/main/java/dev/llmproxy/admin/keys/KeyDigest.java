package dev.llmproxy.admin.keys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What the store keeps of a key instead of the key: its SHA-256 (the same lower-case hex the auth verticle asks
 * {@code llmproxy.keys.lookup} with) and a short prefix an operator can recognise it by.
 */
public final class KeyDigest {

  private static final int MAX_PREFIX = 6;

  private KeyDigest() {
  }

  public static String sha256Hex(String key) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** {@code sk-abc…}; at most half of a short key, so that the prefix never gives the key away. */
  public static String displayPrefix(String key) {
    int length = Math.min(MAX_PREFIX, key.length() / 2);
    return key.substring(0, length) + "…";
  }
}
