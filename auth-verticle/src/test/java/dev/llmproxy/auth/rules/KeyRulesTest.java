package dev.llmproxy.auth.rules;

import dev.llmproxy.common.util.IpRanges;
import java.util.List;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.auth.Denial;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The rules on records as stores give them: strings everywhere (Redis), numbers, SQL timestamps. */
class KeyRulesTest {

  private static final Instant NOW = Instant.parse("2025-03-12T10:00:00Z"); // a Wednesday

  private static Optional<Denial> verdict(JsonObject record) {
    return KeyRules.evaluate(new KeyRecord(record), "10.0.0.1", NOW).denial();
  }

  @Test
  void statusAsIntegerOrString() {
    assertEquals(Optional.empty(), verdict(new JsonObject().put("status", "0")));
    assertEquals(Optional.empty(), verdict(new JsonObject().put("status", "active")));
    assertEquals(Optional.of(Denial.DISABLED), verdict(new JsonObject().put("status", "disabled")));
    assertEquals(Optional.of(Denial.DISABLED), verdict(new JsonObject().put("status", 1)));
    assertEquals(Optional.of(Denial.QUOTA_EXCEEDED), verdict(new JsonObject().put("status", "2")));
    assertEquals(Optional.of(Denial.EXPIRED), verdict(new JsonObject().put("status", 3)));
    assertEquals(Optional.of(Denial.DISABLED), verdict(new JsonObject().put("status", "suspended")),
        "an unknown status fails closed");
  }

  @Test
  void timesInEveryShape() {
    long past = NOW.getEpochSecond() - 60;
    assertEquals(Optional.of(Denial.EXPIRED), verdict(new JsonObject().put("expires_at", past)));
    assertEquals(Optional.of(Denial.EXPIRED), verdict(new JsonObject().put("expires_at", String.valueOf(past))));
    assertEquals(Optional.of(Denial.EXPIRED), verdict(new JsonObject().put("expires_at", "2025-03-12 09:00:00")));
    assertEquals(Optional.of(Denial.EXPIRED), verdict(new JsonObject().put("expires_at", "2025-03-12T11:00:00+02:00")));
    assertEquals(Optional.empty(), verdict(new JsonObject().put("expires_at", "")));
    assertEquals(Optional.empty(), verdict(new JsonObject().put("expires_at", "0")));
    assertEquals(Optional.of(Denial.NOT_YET_VALID), verdict(new JsonObject().put("starts_at", NOW.getEpochSecond() + 5)));
    KeyRules.Verdict ok = KeyRules.evaluate(new KeyRecord(new JsonObject().put("expires_at", "2025-03-12T10:00:30Z")),
        "10.0.0.1", NOW);
    assertEquals(Instant.parse("2025-03-12T10:00:30Z"), ok.validUntil());
  }

  @Test
  void quotaWithResetPeriods() {
    JsonObject full = new JsonObject().put("total_quota", "100").put("used_quota", "100");
    assertEquals(Optional.of(Denial.QUOTA_EXCEEDED), verdict(full));
    // reset due: the last reset was before this period began, so the old usage no longer counts
    assertEquals(Optional.empty(), verdict(full.copy().put("quota_reset_period", "daily")
        .put("last_reset_at", "2025-03-11T23:00:00Z")));
    assertEquals(Optional.of(Denial.QUOTA_EXCEEDED), verdict(full.copy().put("quota_reset_period", "daily")
        .put("last_reset_at", "2025-03-12T00:00:01Z")));
    assertEquals(Optional.empty(), verdict(full.copy().put("quota_reset_period", "weekly")
        .put("last_reset_at", "2025-03-09T12:00:00Z")), "Sunday is last week");
    assertEquals(Optional.of(Denial.QUOTA_EXCEEDED), verdict(full.copy().put("quota_reset_period", "weekly")
        .put("last_reset_at", "2025-03-10T00:00:00Z")));
    assertEquals(Optional.empty(), verdict(full.copy().put("quota_reset_period", "monthly")
        .put("last_reset_at", "2025-02-28T00:00:00Z")));
    assertEquals(Optional.of(Denial.QUOTA_EXCEEDED), verdict(full.copy().put("quota_reset_period", "never")
        .put("last_reset_at", "2020-01-01T00:00:00Z")));
    KeyRules.Verdict exceeded = KeyRules.evaluate(new KeyRecord(full.copy().put("quota_reset_period", "monthly")
        .put("last_reset_at", "2025-03-01T00:00:00Z")), "10.0.0.1", NOW);
    assertEquals(Instant.parse("2025-04-01T00:00:00Z"), exceeded.validUntil(), "refusal lasts until the reset");
    assertEquals(Optional.empty(), verdict(new JsonObject().put("total_quota", 0).put("used_quota", 5)),
        "0 is unlimited");
  }

  @Test
  void remainingQuotaInTokensWithTheResetPeriodApplied() {
    assertEquals(null, KeyRules.remainingQuota(new KeyRecord(new JsonObject()), NOW), "no quota");
    assertEquals(null, KeyRules.remainingQuota(new KeyRecord(new JsonObject().put("total_quota", 0)), NOW));
    assertEquals(60L, KeyRules.remainingQuota(new KeyRecord(new JsonObject().put("total_quota", "100")
        .put("used_quota", "40")), NOW));
    assertEquals(-5L, KeyRules.remainingQuota(new KeyRecord(new JsonObject().put("total_quota", 100)
        .put("used_quota", 105)), NOW), "an overdrawn key (settle) has less than nothing left");
    assertEquals(100L, KeyRules.remainingQuota(new KeyRecord(new JsonObject().put("total_quota", 100)
        .put("used_quota", 105).put("quota_reset_period", "daily").put("last_reset_at", "2025-03-11T23:00:00Z")), NOW),
        "a new period: the old usage does not count");
  }

  @Test
  void balance() {
    assertEquals(Optional.of(Denial.INSUFFICIENT_BALANCE), verdict(new JsonObject().put("balance", "0")));
    assertEquals(Optional.of(Denial.INSUFFICIENT_BALANCE), verdict(new JsonObject().put("balance", -1.5)));
    assertEquals(Optional.empty(), verdict(new JsonObject().put("balance", "0.01")));
  }

  @Test
  void ipListsAsStringsOrArrays() {
    JsonObject allowCsv = new JsonObject().put("allowed_ips", "192.168.0.0/16, 10.0.0.0/30");
    assertEquals(Optional.empty(), verdict(allowCsv));
    JsonObject allowJson = new JsonObject().put("allowed_ips", "[\"::1\"]");
    assertEquals(Optional.of(Denial.IP_NOT_ALLOWED), verdict(allowJson));
    assertTrue(IpRanges.parseLenient(List.of("10.0.0.0/8")).contains("::ffff:10.2.3.4"), "IPv4-mapped IPv6 counts as IPv4");
    assertTrue(IpRanges.parseLenient(List.of("example.com", "10.0.0.0/99")).isEmpty(), "host names are never resolved");
  }
}
