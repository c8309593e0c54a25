package dev.llmproxy.common.util;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Keeps secrets out of logs and timing side channels. */
public final class Secrets {

  private Secrets() {
  }

  /** {@code sk-abcdef123456} becomes {@code sk-...3456}; short or missing values are fully hidden. */
  public static String mask(String key) {
    if (key == null || key.isEmpty()) {
      return key;
    }
    if (key.length() < 12) {
      return "***";
    }
    int dash = key.indexOf('-');
    String prefix = dash > 0 && dash <= 4 ? key.substring(0, dash + 1) : "";
    return prefix + "..." + key.substring(key.length() - 4);
  }

  /** Compares in time that does not depend on where the inputs differ. */
  public static boolean constantTimeEquals(String expected, String given) {
    if (expected == null || given == null) {
      return false;
    }
    return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }
}
