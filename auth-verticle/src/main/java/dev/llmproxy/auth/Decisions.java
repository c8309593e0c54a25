package dev.llmproxy.auth;

import dev.llmproxy.common.bus.KeyHash;

import dev.llmproxy.auth.rules.KeyRecord;
import dev.llmproxy.auth.rules.KeyRules;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.AuthConfig;
import dev.llmproxy.common.config.StatusCodeConfig;
import io.vertx.core.json.JsonObject;

/** Builds {@link AuthDecision}s: HTTP codes and messages from {@code auth.status_codes}, key fields from records. */
final class Decisions {

  private final AuthConfig config;

  Decisions(AuthConfig config) {
    this.config = config;
  }

  AuthDecision deny(Denial denial, String message, long cacheTtlMs) {
    int status = denial.fixedStatus();
    String text = denial.defaultMessage();
    if (denial.statusName() != null) {
      StatusCodeConfig configured = config.statusCode(denial.statusName());
      status = configured.httpCode();
      if (text == null) {
        text = configured.message();
      }
    }
    if (message != null && !message.isBlank()) {
      text = message;
    }
    return new AuthDecision(false, status, denial.code(), text, null, null, null, null, null, null, null, null,
        Math.max(0, cacheTtlMs));
  }

  /** {@code now}: the time the record's quota period is judged at (as the rules judged it). */
  AuthDecision allow(String keyHash, JsonObject fields, String provider, long cacheTtlMs, java.time.Instant now) {
    KeyRecord key = new KeyRecord(fields);
    return new AuthDecision(true, 200, null, null, KeyHash.keyId(keyHash), provider,
        key.string("name").orElse(null),
        key.string("user_id").orElse(null),
        key.object("metadata").orElse(null),
        key.whole("rpm").orElse(null),
        key.whole("tpm").orElse(null),
        key.whole("max_concurrent").map(Long::intValue).orElse(null),
        Math.max(0, cacheTtlMs),
        KeyRules.remainingQuota(key, now));
  }
}
