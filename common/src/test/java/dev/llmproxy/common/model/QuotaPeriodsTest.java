package dev.llmproxy.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class QuotaPeriodsTest {

  private static final Instant THURSDAY_NOON = Instant.parse("2026-11-19T12:00:00Z");

  @Test
  void periodsStartInUtcAtMidnightOnMondayAndOnTheFirst() {
    assertEquals(Optional.of(Instant.parse("2026-11-19T00:00:00Z")), QuotaPeriods.start("daily", THURSDAY_NOON));
    assertEquals(Optional.of(Instant.parse("2026-11-16T00:00:00Z")), QuotaPeriods.start("Weekly", THURSDAY_NOON));
    assertEquals(Optional.of(Instant.parse("2026-11-01T00:00:00Z")), QuotaPeriods.start("monthly", THURSDAY_NOON));
    assertEquals(Optional.empty(), QuotaPeriods.start("never", THURSDAY_NOON));
    assertEquals(Optional.empty(), QuotaPeriods.start(null, THURSDAY_NOON));
    assertEquals(Optional.of(Instant.parse("2026-11-20T00:00:00Z")), QuotaPeriods.next("daily", THURSDAY_NOON));
    assertEquals(Optional.of(Instant.parse("2026-11-23T00:00:00Z")), QuotaPeriods.next("weekly", THURSDAY_NOON));
    assertEquals(Optional.of(Instant.parse("2026-12-01T00:00:00Z")), QuotaPeriods.next("monthly", THURSDAY_NOON));
  }

  @Test
  void aChargeStartsANewPeriodAgainAndStampsAKeyThatHadNoReset() {
    Instant yesterday = Instant.parse("2026-11-18T23:59:59Z");
    Instant thisMorning = Instant.parse("2026-11-19T00:00:01Z");
    assertEquals(new QuotaPeriods.Charge(9, true),
        QuotaPeriods.charge(500, 9, "daily", Optional.of(yesterday), THURSDAY_NOON));
    assertEquals(new QuotaPeriods.Charge(509, false),
        QuotaPeriods.charge(500, 9, "daily", Optional.of(thisMorning), THURSDAY_NOON));
    assertEquals(new QuotaPeriods.Charge(509, true),
        QuotaPeriods.charge(500, 9, "daily", Optional.empty(), THURSDAY_NOON));
    assertEquals(new QuotaPeriods.Charge(509, false),
        QuotaPeriods.charge(500, 9, "never", Optional.of(yesterday), THURSDAY_NOON));
    assertEquals(new QuotaPeriods.Charge(509, false),
        QuotaPeriods.charge(500, 9, "monthly", Optional.of(yesterday), THURSDAY_NOON));
  }
}
