package dev.llmproxy.proxy;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The x-ratelimit-* texts made once are the texts the numbers would have been written as. */
class BudgetHeaderTextTest {

  @Test
  void resetSecondsAreWrittenWithTheirUnit() {
    for (long seconds : new long[] {0, 1, 59, 60, 120, 121, 3600, -1}) {
      assertEquals(seconds + "s", LimitStep.resetText(seconds));
    }
  }

  @Test
  void aLimitsTextFollowsTheNumberAskedFor() {
    LimitStep.RecentText text = new LimitStep.RecentText();
    for (long value : new long[] {0, 1000, 1000, 60, 1000, Long.MAX_VALUE, -5, 0}) {
      assertEquals(Long.toString(value), text.of(value));
    }
    assertEquals(LimitStep.REQUESTS.limitText().of(600), "600");
    assertEquals(LimitStep.TOKENS.limitText().of(100000), "100000");
    assertEquals(LimitStep.REQUESTS.limitText().of(601), "601");
  }
}
