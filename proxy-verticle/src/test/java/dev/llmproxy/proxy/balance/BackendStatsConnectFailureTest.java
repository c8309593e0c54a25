package dev.llmproxy.proxy.balance;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Passive health and connect failures: congestion (the backend answers others meanwhile) is not a dead backend. */
class BackendStatsConnectFailureTest {

  private static final long MS = 1_000_000L;

  @Test
  void connectFailuresWhileTheBackendAnswersOtherRequestsNeverEjectIt() {
    BackendStats stats = new BackendStats("only");
    long t = 1_000_000 * MS;
    // A burst: 10 attempts begin at t; others get answers at t + 100 ms; the 10 connects time out at t + 5 s.
    stats.recordTtfb(50 * MS, t + 100 * MS);
    for (int i = 0; i < 10; i++) {
      assertFalse(stats.connectFailed(t + 5_000 * MS, t), "failure " + i + " ejected a backend that was answering");
    }
    assertFalse(stats.ejectedAt(t + 5_001 * MS));
    assertFalse(stats.passivelyDown(t + 5_001 * MS), "/ready must not drop the gateway for congestion");
  }

  @Test
  void connectFailuresWithNoAnswerSinceTheAttemptBeganEjectAfterThree() {
    BackendStats stats = new BackendStats("dead");
    long t = 1_000_000 * MS;
    stats.recordTtfb(50 * MS, t - 1_000 * MS); // it answered once, before these attempts began
    assertFalse(stats.connectFailed(t + 10 * MS, t));
    assertFalse(stats.connectFailed(t + 20 * MS, t + 5 * MS));
    assertTrue(stats.connectFailed(t + 30 * MS, t + 10 * MS), "the third consecutive failure ejects");
    assertTrue(stats.ejectedAt(t + 31 * MS));
  }

  @Test
  void aBackendNeverAnsweredIsEjectedByConnectFailures() {
    BackendStats stats = new BackendStats("never");
    long t = 1_000_000 * MS;
    stats.connectFailed(t, t - MS);
    stats.connectFailed(t, t - MS);
    assertTrue(stats.connectFailed(t, t - MS));
  }
}
