package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A key of a static provider. {@code status} is enabled/active, disabled, expired or quota_exceeded
 * (or the builtin store's integer 0-3); a {@code totalQuota} of 0 means unlimited.
 */
public record ApiKeyConfig(String key, String name, String userId, String status, long totalQuota, long usedQuota,
    String quotaResetPeriod, List<String> allowedIps, List<String> deniedIps, Optional<Instant> startsAt,
    Optional<Instant> expiresAt) {

  public ApiKeyConfig {
    allowedIps = Immutables.list(allowedIps);
    deniedIps = Immutables.list(deniedIps);
    startsAt = startsAt == null ? Optional.empty() : startsAt;
    expiresAt = expiresAt == null ? Optional.empty() : expiresAt;
  }

  static ApiKeyConfig read(ConfigReader r) {
    return new ApiKeyConfig(
        r.string("key", ""),
        r.string("name", ""),
        r.string("user_id", ""),
        r.string("status", "enabled"),
        r.longValue("total_quota", 0),
        r.longValue("used_quota", 0),
        r.string("quota_reset_period", "never"),
        r.strings("allowed_ips", List.of()),
        r.strings("denied_ips", List.of()),
        r.instant("starts_at"),
        r.instant("expires_at"));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("key", key)
        .put("name", name)
        .put("user_id", userId)
        .put("status", status)
        .put("total_quota", totalQuota)
        .put("used_quota", usedQuota)
        .put("quota_reset_period", quotaResetPeriod)
        .put("allowed_ips", JsonOut.array(allowedIps))
        .put("denied_ips", JsonOut.array(deniedIps))
        .put("starts_at", startsAt.map(Instant::toString).orElse(null))
        .put("expires_at", expiresAt.map(Instant::toString).orElse(null));
  }
}
