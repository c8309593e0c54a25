package dev.llmproxy.common.model;

import dev.llmproxy.common.util.Timestamps;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Optional;

/**
 * What a static key ({@code auth.pipeline[].static.keys[]}) has used: the config holds its {@code total_quota},
 * {@code quota_reset_period} and a starting {@code used_quota}; this holds what charges made of it since. One
 * reckoning for the two ledgers that keep it (the admin's SQLite store, or the usage verticle's memory when admin
 * is off) and for the auth verticle that reads it back into the key's record.
 *
 * @param usedQuota     tokens used in the current period
 * @param lastResetAt   when the current period's count began (null until a key with a period is first charged)
 * @param baseUsedQuota the configured {@code used_quota} this count started from: when the config later says
 *                      another number, the operator has set the key's usage by hand, and that number wins
 */
public record StaticKeyUsage(long usedQuota, Instant lastResetAt, long baseUsedQuota) {

  /**
   * Adds a request's tokens. A key not charged yet (or whose configured {@code used_quota} changed since) starts
   * from its configured {@code used_quota}; then the period rule of {@link QuotaPeriods#charge} applies.
   *
   * @param current        what the ledger holds, null when it holds nothing for the key
   * @param configuredUsed the key's {@code used_quota} in the config
   */
  public static StaticKeyUsage charge(StaticKeyUsage current, long tokens, String period, long configuredUsed,
      Instant now) {
    boolean fresh = current == null || current.baseUsedQuota() != configuredUsed;
    long used = fresh ? configuredUsed : current.usedQuota();
    Optional<Instant> lastReset = fresh ? Optional.empty() : Optional.ofNullable(current.lastResetAt());
    QuotaPeriods.Charge charge = QuotaPeriods.charge(used, tokens, period, lastReset, now);
    return new StaticKeyUsage(charge.usedQuota(), charge.resetStamped() ? now : lastReset.orElse(null),
        configuredUsed);
  }

  /**
   * Puts this usage into a static key's record as the auth rules read it ({@code used_quota}, {@code last_reset_at}),
   * unless the config's {@code used_quota} is no longer the one it started from.
   */
  public void applyTo(JsonObject keyRecord, long configuredUsed) {
    if (baseUsedQuota != configuredUsed) {
      return;
    }
    keyRecord.put("used_quota", usedQuota);
    if (lastResetAt != null) {
      keyRecord.put("last_reset_at", lastResetAt.toString());
    }
  }

  /** The reply of {@code llmproxy.keys.usage}. */
  public JsonObject toJson() {
    return new JsonObject().put("used_quota", usedQuota)
        .put("last_reset_at", lastResetAt == null ? null : lastResetAt.toString())
        .put("base_used_quota", baseUsedQuota);
  }

  public static StaticKeyUsage fromJson(JsonObject json) {
    return new StaticKeyUsage(json.getLong("used_quota", 0L), Timestamps.of(json.getValue("last_reset_at")).orElse(null),
        json.getLong("base_used_quota", 0L));
  }
}
