package dev.llmproxy.proxy.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When a full sliding window has room again: the Retry-After of a route's limit. */
class SlidingWindowTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void roomComesAsTheLastWindowSlidesOut() {
    SlidingWindow window = new SlidingWindow(0, 60 * SECOND);
    window.add(10);
    long now = 90 * SECOND; // 30 s into the next window: half of the last one's 10 still counts
    assertEquals(5.0, window.used(now), 1e-9);
    window.add(5);
    long wait = window.secondsUntilRoomFor(10, now);
    assertEquals(6, wait, "5 + 10 x (1 - 36/60) + 1 = 10 fits after 6 s");
    assertTrue(window.used(now + wait * SECOND) + 1 <= 10);
    assertTrue(window.used(now + (wait - 1) * SECOND) + 1 > 10);
  }

  @Test
  void aFullWindowAloneWaitsForTheNextAndItsShareToSlideOut() {
    SlidingWindow window = new SlidingWindow(0, 3600 * SECOND);
    window.add(1);
    long now = 600 * SECOND;
    long wait = window.secondsUntilRoomFor(1, now);
    assertEquals(3000 + 3600, wait, "the rest of this hour, then the whole next one (1 x share must reach 0)");
    assertTrue(window.used(now + wait * SECOND) + 1 <= 1);
  }
}
