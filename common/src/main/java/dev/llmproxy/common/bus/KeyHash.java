package dev.llmproxy.common.bus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The SHA-256 of a key, in lower-case hex: how the builtin store indexes keys and how {@link KeyLookup} asks for
 * one, so the admin and auth verticles must compute it the same way; its first 16 digits are the key's public id.
 */
public final class KeyHash {

  private KeyHash() {
  }

  public static String sha256Hex(String key) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** The id that identifies a key in decisions, usage and logs without revealing it. */
  public static String keyId(String sha256Hex) {
    return sha256Hex.substring(0, 16);
  }
}
