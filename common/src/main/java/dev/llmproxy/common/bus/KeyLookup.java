package dev.llmproxy.common.bus;

/**
 * {@link Addresses#KEYS_LOOKUP}: the auth verticle asks the admin verticle's builtin store for one key.
 * Request body: {@code {"key_hash": "<lower-case hex SHA-256 of the key>"}}.
 * Reply body: the key record as JSON with the fields of the admin API ({@code name, user_id, status, starts_at,
 * expires_at, total_quota, used_quota, quota_reset_period, last_reset_at, allowed_ips, denied_ips, rpm, tpm,
 * max_concurrent, metadata}), or {@code null} when the store has no such key. A failure reply means the store
 * could not answer (an error, not a "not found").
 *
 * <p>{@link Addresses#KEYS_CHANGED} body: {@code {"key_hash": "..."}} for one key, or {@code {"all": true}}.
 */
public final class KeyLookup {

  public static final String KEY_HASH = "key_hash";
  public static final String ALL = "all";

  private KeyLookup() {
  }
}
