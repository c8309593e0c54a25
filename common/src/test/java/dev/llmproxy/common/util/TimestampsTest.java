package dev.llmproxy.common.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TimestampsTest {

  private static final Instant T = Instant.parse("2026-11-22T06:40:00Z");

  @Test
  void everyShapeAKeyStoreHoldsReadsAsTheSameInstant() {
    assertEquals(Optional.of(T), Timestamps.of("2026-11-22T06:40:00Z"));
    assertEquals(Optional.of(T), Timestamps.of("2026-11-22T08:40:00+02:00"));
    assertEquals(Optional.of(T), Timestamps.of("2026-11-22 06:40:00"), "SQL style, UTC");
    assertEquals(Optional.of(T), Timestamps.of(1_795_329_600L), "epoch seconds");
    assertEquals(Optional.of(T), Timestamps.of("1795329600000"), "epoch milliseconds, as text");
    assertEquals(Optional.of(T), Timestamps.of(LocalDateTime.of(2026, 11, 22, 6, 40)));
    assertEquals(Optional.of(T), Timestamps.of(OffsetDateTime.of(2026, 11, 22, 6, 40, 0, 0, ZoneOffset.UTC)));
    assertEquals(Optional.of(Instant.parse("2026-11-22T00:00:00Z")), Timestamps.of("2026-11-22"));
  }

  @Test
  void nothingSetReadsAsEmpty() {
    assertEquals(Optional.empty(), Timestamps.of(null));
    assertEquals(Optional.empty(), Timestamps.of(" "));
    assertEquals(Optional.empty(), Timestamps.of(0));
    assertEquals(Optional.empty(), Timestamps.of("not a time"));
  }
}
