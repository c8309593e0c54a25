package dev.llmproxy.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * The auth verticle's answer on {@link Addresses#AUTH_CHECK}.
 *
 * @param allow      the request may go on
 * @param status     when denied: the HTTP status for the client (from {@code auth.status_codes}: 401, 403, 429;
 *                   503 when no provider could decide because all failed)
 * @param code       when denied: OpenAI-style error code ({@code invalid_api_key}, {@code key_disabled},
 *                   {@code key_expired}, {@code quota_exceeded}, {@code ip_not_allowed}, {@code auth_unavailable}, ...)
 * @param message    when denied: the message for the client
 * @param keyId      a stable id of the key that never reveals it (e.g. the first 16 hex of its SHA-256)
 * @param keySource  the name of the auth provider whose store holds the key (its {@code auth.pipeline} entry);
 *                   quota accounting charges that store
 * @param rpm        per-key overrides for rate limits, null when the key record has none
 * @param cacheTtlMs how long the proxy may reuse this decision for the same key; 0 = not at all. Never past the
 *                   key's expiry, and dropped at once on {@link Addresses#KEYS_CHANGED}.
 * @param remainingQuota the key's quota left when its record was read, in the quota's unit (tokens: prompt plus
 *                   completion, as the usage verticle charges them), its reset period applied; null when the key has
 *                   no {@code total_quota}. It is as fresh as the store: what has been relayed but not yet charged
 *                   there (charges follow the usage journal) is not in it, so whoever reuses a decision subtracts
 *                   what it relayed since (see the proxy's quota tally).
 */
public record AuthDecision(boolean allow, int status, String code, String message, String keyId, String keySource, String keyName,
                           String userId, JsonObject metadata, Long rpm, Long tpm, Integer maxConcurrent,
                           long cacheTtlMs, Long remainingQuota) {

  /** A decision about a key without a quota (or whose quota nobody reads). */
  public AuthDecision(boolean allow, int status, String code, String message, String keyId, String keySource,
                      String keyName, String userId, JsonObject metadata, Long rpm, Long tpm, Integer maxConcurrent,
                      long cacheTtlMs) {
    this(allow, status, code, message, keyId, keySource, keyName, userId, metadata, rpm, tpm, maxConcurrent,
        cacheTtlMs, null);
  }

  public static AuthDecision allowAnonymous() {
    return new AuthDecision(true, 200, null, null, null, null, null, null, null, null, null, null, 0, null);
  }

  public static AuthDecision deny(int status, String code, String message) {
    return new AuthDecision(false, status, code, message, null, null, null, null, null, null, null, null, 0, null);
  }

  /** The same decision with another reuse time and quota left (a cache's view of it). */
  public AuthDecision reused(long cacheTtlMs, Long remainingQuota) {
    return new AuthDecision(allow, status, code, message, keyId, keySource, keyName, userId, metadata, rpm, tpm,
        maxConcurrent, cacheTtlMs, remainingQuota);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("allow", allow)
        .put("status", status)
        .put("code", code)
        .put("message", message)
        .put("key_id", keyId)
        .put("key_source", keySource)
        .put("key_name", keyName)
        .put("user_id", userId)
        .put("metadata", metadata)
        .put("rpm", rpm)
        .put("tpm", tpm)
        .put("max_concurrent", maxConcurrent)
        .put("cache_ttl_ms", cacheTtlMs)
        .put("remaining_quota", remainingQuota);
  }

  public static AuthDecision fromJson(JsonObject json) {
    return new AuthDecision(
        json.getBoolean("allow", false),
        json.getInteger("status", 401),
        json.getString("code"),
        json.getString("message"),
        json.getString("key_id"),
        json.getString("key_source"),
        json.getString("key_name"),
        json.getString("user_id"),
        json.getJsonObject("metadata"),
        json.getLong("rpm"),
        json.getLong("tpm"),
        json.getInteger("max_concurrent"),
        json.getLong("cache_ttl_ms", 0L),
        json.getLong("remaining_quota"));
  }
}
