package dev.llmproxy.admin.keys;

import java.security.SecureRandom;
import java.util.Base64;

/** New keys for {@code create} without a {@code key}: {@code sk-} and 32 random bytes, URL-safe base64. */
public final class KeyGenerator {

  private static final int RANDOM_BYTES = 32;

  private final SecureRandom random = new SecureRandom();
  private final Base64.Encoder encoder = Base64.getUrlEncoder().withoutPadding();

  public String newKey() {
    byte[] bytes = new byte[RANDOM_BYTES];
    random.nextBytes(bytes);
    return "sk-" + encoder.encodeToString(bytes);
  }
}
