package dev.llmproxy.usage.journal;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.llmproxy.common.model.StreamedJson;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * How API keys rest in the usage journal: never in clear. A record is written with the key's hash, id and masked
 * form only ({@link UsageRecord#withoutRawKey()}); the raw key, which Redis and database quota charges and a webhook
 * with {@code include_raw_key} need, comes back from one of two places when the record is read from disk:
 * <ul>
 *   <li>with {@code LLMPROXY_JOURNAL_KEY} set, from the record itself: {@code api_key_sealed} holds the key encrypted
 *       with AES-256-GCM (a key derived from the variable by SHA-256, a random 96-bit nonce per record, the key's hash
 *       as associated data so a sealed key cannot be moved to another record). Nothing is lost to a crash.</li>
 *   <li>otherwise, from memory: the raw key of every key seen since start, by hash (bounded, least recently used
 *       dropped). A record read back after a restart whose key has not been used again since lacks it.</li>
 * </ul>
 * Records close behind the writer never leave memory and keep their raw key either way. Thread-safe: the journal's
 * writer and reader threads and the event loop use it.
 */
public final class JournalKeys {

  /** The environment variable holding the secret the journal encrypts raw keys with. */
  public static final String ENV = "LLMPROXY_JOURNAL_KEY";
  static final String SEALED = "api_key_sealed";
  /** Below this the secret is too easy to guess to protect keys at rest. */
  static final int MIN_SECRET_CHARS = 16;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final int MAX_REMEMBERED = 100_000;

  private final SecretKey sealingKey;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, String> rawByHash = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > MAX_REMEMBERED;
    }
  });

  private JournalKeys(SecretKey sealingKey) {
    this.sealingKey = sealingKey;
  }

  /** Raw keys in memory only. */
  public static JournalKeys inMemory() {
    return new JournalKeys(null);
  }

  /**
   * From the environment: sealed on disk when {@value #ENV} is set.
   *
   * @throws IllegalArgumentException when it is set but shorter than {@value #MIN_SECRET_CHARS} characters
   */
  public static JournalKeys fromEnvironment(Map<String, String> env) {
    String secret = env.get(ENV);
    if (secret == null || secret.isEmpty()) {
      return inMemory();
    }
    if (secret.length() < MIN_SECRET_CHARS) {
      throw new IllegalArgumentException(ENV + ": must be at least " + MIN_SECRET_CHARS
          + " characters (e.g. the output of 'openssl rand -base64 32')");
    }
    try {
      byte[] key = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return new JournalKeys(new SecretKeySpec(key, "AES"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** True when raw keys are written encrypted (and so survive a restart). */
  public boolean seals() {
    return sealingKey != null;
  }

  /** Remembers a record's raw key by its hash, for records read back from disk while the gateway runs. */
  public void remember(UsageRecord record) {
    if (record.apiKey() != null && record.keyHash() != null) {
      rawByHash.put(record.keyHash(), record.apiKey());
    }
  }

  /** Remembers a key known from elsewhere (a static key of the config). */
  public void remember(String keyHash, String rawKey) {
    rawByHash.put(keyHash, rawKey);
  }

  /** The record as the journal writes it, through {@code out}: no raw key, or only sealed. */
  void writeToDisk(UsageRecord record, JsonGenerator out) throws IOException {
    boolean sealed = sealingKey != null && record.apiKey() != null && record.keyHash() != null;
    StreamedJson.writeRecord(out, record, false, sealed ? SEALED : null,
        sealed ? seal(record.apiKey(), record.keyHash()) : null);
  }

  /** A record read from disk, its raw key recovered when it can be (else null, with its hash and masked form). */
  UsageRecord fromDisk(JsonObject json) {
    UsageRecord record = UsageRecord.fromJson(json);
    if (record.keyHash() == null) {
      return record;
    }
    String sealed = json.getString(SEALED);
    String raw = sealed != null && sealingKey != null ? open(sealed, record.keyHash()) : null;
    return record.withRawKey(raw != null ? raw : rawByHash.get(record.keyHash()));
  }

  private String seal(String rawKey, String keyHash) {
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, sealingKey, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(keyHash.getBytes(StandardCharsets.US_ASCII));
      byte[] sealed = cipher.doFinal(rawKey.getBytes(StandardCharsets.UTF_8));
      byte[] out = new byte[NONCE_BYTES + sealed.length];
      System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
      System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
      return Base64.getEncoder().encodeToString(out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is missing from this JVM", e);
    }
  }

  /** Null when it does not open: written under another {@value #ENV}, or tampered with. */
  private String open(String sealed, String keyHash) {
    try {
      byte[] in = Base64.getDecoder().decode(sealed);
      if (in.length <= NONCE_BYTES) {
        return null;
      }
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, sealingKey, new GCMParameterSpec(TAG_BITS, in, 0, NONCE_BYTES));
      cipher.updateAAD(keyHash.getBytes(StandardCharsets.US_ASCII));
      return new String(cipher.doFinal(in, NONCE_BYTES, in.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return null;
    }
  }
}
