package dev.llmproxy.common.model;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.TemporalAdjusters;
import java.util.Locale;
import java.util.Optional;

/**
 * A key's {@code quota_reset_period}: {@code daily}, {@code weekly} or {@code monthly} (anything else, such as
 * {@code never}, never resets). Periods start in UTC: at midnight, on Monday, on the 1st. One reckoning for the auth
 * rules that judge a key, and for every store that resets or charges {@code used_quota}.
 */
public final class QuotaPeriods {

  private QuotaPeriods() {
  }

  /** The start of the period of this name that contains {@code now}; empty when the period never resets. */
  public static Optional<Instant> start(String period, Instant now) {
    if (period == null) {
      return Optional.empty();
    }
    LocalDate today = now.atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate start = switch (period.toLowerCase(Locale.ROOT)) {
      case "daily" -> today;
      case "weekly" -> today.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
      case "monthly" -> today.withDayOfMonth(1);
      default -> null;
    };
    return Optional.ofNullable(start).map(day -> day.atStartOfDay().toInstant(ZoneOffset.UTC));
  }

  /** The start of the next period after the one containing {@code now}; empty when the period never resets. */
  public static Optional<Instant> next(String period, Instant now) {
    return start(period, now).map(start -> {
      ZonedDateTime day = start.atZone(ZoneOffset.UTC);
      return switch (period.toLowerCase(Locale.ROOT)) {
        case "daily" -> day.plusDays(1).toInstant();
        case "weekly" -> day.plusWeeks(1).toInstant();
        default -> day.plusMonths(1).toInstant();
      };
    });
  }

  /**
   * A charge to a key whose store does not reset on a timer (Redis, a user's database table): the first charge of a
   * new period starts it again from these tokens. A key with a period but no {@code last_reset_at} is stamped, not
   * forgiven, so that the auth rules (which count its usage until a reset is recorded) and the store agree.
   *
   * @param resetStamped true when {@code last_reset_at} is to be written with the charge's time
   */
  public record Charge(long usedQuota, boolean resetStamped) {
  }

  public static Charge charge(long usedQuota, long tokens, String period, Optional<Instant> lastReset, Instant now) {
    Optional<Instant> start = start(period, now);
    if (start.isEmpty()) {
      return new Charge(usedQuota + tokens, false);
    }
    if (lastReset.isEmpty()) {
      return new Charge(usedQuota + tokens, true);
    }
    return lastReset.get().isBefore(start.get()) ? new Charge(tokens, true) : new Charge(usedQuota + tokens, false);
  }
}
