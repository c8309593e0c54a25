package dev.llmproxy.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The SHA-256 of a key: how the builtin store indexes keys, and (its first 16 hex digits) the key's public id. */
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
