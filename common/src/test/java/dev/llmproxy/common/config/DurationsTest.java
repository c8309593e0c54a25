package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void parsesGoDurations() {
    assertEquals(Duration.ofMillis(100), Durations.parse("100ms").orElseThrow());
    assertEquals(Duration.ofSeconds(30), Durations.parse("30s").orElseThrow());
    assertEquals(Duration.ofMinutes(5), Durations.parse("5m").orElseThrow());
    assertEquals(Duration.ofHours(1), Durations.parse("1h").orElseThrow());
    assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m").orElseThrow());
    assertEquals(Duration.ofMillis(1500), Durations.parse("1.5s").orElseThrow());
    assertEquals(Duration.ofNanos(1500), Durations.parse("1us500ns").orElseThrow());
    assertEquals(Duration.ZERO, Durations.parse("0").orElseThrow());
  }

  @Test
  void bareNumberMeansSeconds() {
    assertEquals(Duration.ofSeconds(45), Durations.parse("45").orElseThrow());
    assertEquals(Duration.ofMillis(2500), Durations.parse("2.5").orElseThrow());
  }

  @Test
  void rejectsNonsense() {
    assertTrue(Durations.parse("abc").isEmpty());
    assertTrue(Durations.parse("").isEmpty());
    assertTrue(Durations.parse("10x").isEmpty());
    assertTrue(Durations.parse("-1s").isEmpty());
    assertTrue(Durations.parse("1s abc").isEmpty());
    assertTrue(Durations.parse("s").isEmpty());
  }

  @Test
  void formatsShortestGoForm() {
    assertEquals("30s", Durations.format(Duration.ofSeconds(30)));
    assertEquals("100ms", Durations.format(Duration.ofMillis(100)));
    assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
    assertEquals("1s500ms", Durations.format(Duration.ofMillis(1500)));
    assertEquals("0s", Durations.format(Duration.ZERO));
    for (String s : new String[] {"1h2m3s4ms5us6ns", "2h", "250ms"}) {
      Duration d = Durations.parse(s).orElseThrow();
      assertEquals(d, Durations.parse(Durations.format(d)).orElseThrow());
    }
  }

  @Test
  void invalidDurationInConfigIsAnErrorNamingThePath() {
    LoadedConfig loaded = ConfigLoader.parse(new io.vertx.core.json.JsonObject()
        .put("routing", new io.vertx.core.json.JsonObject().put("timeout", "abc")), java.util.Map.of());
    assertEquals(java.util.List.of("routing.timeout: not a duration (\"abc\")"), loaded.errors());
  }

  /** Issue 17: a duration too long to hold is refused, never wrapped (negative) or turned into 0 ("no limit"). */
  @Test
  void durationsTooLongToHoldAreRefusedNotWrapped() {
    for (String text : new String[] {"9999999999999999999999h", "18446744073709551616ns", "9223372036854775808ns",
        "300000000000s", "1e300"}) {
      LoadedConfig loaded = ConfigLoader.parse(new io.vertx.core.json.JsonObject()
          .put("routing", new io.vertx.core.json.JsonObject().put("timeout", text.equals("1e300") ? (Object) 1e300 : text)),
          java.util.Map.of());
      assertEquals(1, loaded.errors().size(), text + ": " + loaded.errors());
      org.junit.jupiter.api.Assertions.assertTrue(loaded.errors().get(0).startsWith("routing.timeout: too long a duration"),
          loaded.errors().get(0));
    }
    assertEquals(Duration.ofNanos(Long.MAX_VALUE), Durations.parse("9223372036854775807ns").orElseThrow());
    org.junit.jupiter.api.Assertions.assertFalse(Durations.tooLong("2562047h"));
  }
}
