package dev.llmproxy.auth.rules;

import dev.llmproxy.common.model.QuotaPeriods;

import dev.llmproxy.common.util.IpRanges;
import dev.llmproxy.auth.Denial;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The decision rules applied to whatever record a provider found, in this order: status, validity window,
 * IP lists, quota (with its reset period), balance. Pure: the caller gives the time and the client's address.
 */
public final class KeyRules {

  private KeyRules() {
  }

  /**
   * @param denial     empty when the key may be used
   * @param validUntil when this verdict may change by itself (expiry, start, next quota reset); null: not by time
   * @param dependsOnIp the verdict looked at the client's address (so it may not be reused for another address)
   */
  public record Verdict(Optional<Denial> denial, Instant validUntil, boolean dependsOnIp) {
  }

  public static Verdict evaluate(KeyRecord key, String clientIp, Instant now) {
    Instant until = null;
    Optional<Denial> status = status(key);
    if (status.isPresent()) {
      return new Verdict(status, null, false);
    }
    Optional<Instant> startsAt = key.instant("starts_at");
    if (startsAt.isPresent() && now.isBefore(startsAt.get())) {
      return new Verdict(Optional.of(Denial.NOT_YET_VALID), startsAt.get(), false);
    }
    Optional<Instant> expiresAt = key.instant("expires_at");
    if (expiresAt.isPresent()) {
      if (!now.isBefore(expiresAt.get())) {
        return new Verdict(Optional.of(Denial.EXPIRED), null, false);
      }
      until = expiresAt.get();
    }
    List<String> denied = key.strings("denied_ips");
    List<String> allowed = key.strings("allowed_ips");
    boolean dependsOnIp = !denied.isEmpty() || !allowed.isEmpty();
    if (dependsOnIp) {
      // An address that cannot be read matches no allow list and is refused whenever any list exists.
      if (!IpRanges.isAddress(clientIp) || IpRanges.parseLenient(denied).contains(clientIp)
          || (!allowed.isEmpty() && !IpRanges.parseLenient(allowed).contains(clientIp))) {
        return new Verdict(Optional.of(Denial.IP_NOT_ALLOWED), until, true);
      }
    }
    Long remaining = remainingQuota(key, now);
    if (remaining != null && remaining <= 0) {
      String period = key.string("quota_reset_period").orElse("never").toLowerCase();
      Instant reset = QuotaPeriods.next(period, now).orElse(null);
      return new Verdict(Optional.of(Denial.QUOTA_EXCEEDED), reset, dependsOnIp);
    }
    Optional<Double> balance = key.number("balance");
    if (balance.isPresent() && balance.get() <= 0) {
      return new Verdict(Optional.of(Denial.INSUFFICIENT_BALANCE), until, dependsOnIp);
    }
    return new Verdict(Optional.empty(), until, dependsOnIp);
  }

  /**
   * The key's quota left now in tokens ({@code total_quota - used_quota}, the usage of a past period not counted;
   * 0 or less when spent), or null when the key has no quota ({@code total_quota} absent or 0).
   */
  public static Long remainingQuota(KeyRecord key, Instant now) {
    long total = key.whole("total_quota").orElse(0L);
    if (total <= 0) {
      return null;
    }
    long used = key.whole("used_quota").orElse(0L);
    String period = key.string("quota_reset_period").orElse("never").toLowerCase();
    Optional<Instant> periodStart = QuotaPeriods.start(period, now);
    if (periodStart.isPresent()) {
      Optional<Instant> lastReset = key.instant("last_reset_at");
      // The usage store resets used_quota at the period's start; until it has, the old usage does not count.
      if (lastReset.isPresent() && lastReset.get().isBefore(periodStart.get())) {
        used = 0;
      }
    }
    return total - used;
  }

  /**
   * Integer 0 active, 1 disabled, 2 quota exceeded, 3 expired; or the names. Unknown values are refused: the
   * original let every string through, so a "disabled" key passed.
   */
  static Optional<Denial> status(KeyRecord key) {
    Optional<String> status = key.string("status");
    if (status.isEmpty()) {
      return Optional.empty();
    }
    String s = status.get().toLowerCase();
    return switch (s) {
      case "0", "0.0", "enabled", "active", "true" -> Optional.empty();
      case "1", "1.0", "disabled", "inactive", "false" -> Optional.of(Denial.DISABLED);
      case "2", "2.0", "quota_exceeded" -> Optional.of(Denial.QUOTA_EXCEEDED);
      case "3", "3.0", "expired" -> Optional.of(Denial.EXPIRED);
      default -> Optional.of(Denial.DISABLED);
    };
  }

}
