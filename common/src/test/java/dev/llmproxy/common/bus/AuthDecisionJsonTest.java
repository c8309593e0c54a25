package dev.llmproxy.common.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The decision crosses the event bus (and a cluster) as JSON: every field, the quota left included, comes back. */
class AuthDecisionJsonTest {

  @Test
  void aDecisionWithAQuotaLeftSurvivesTheWire() {
    AuthDecision sent = new AuthDecision(true, 200, null, null, "0123456789abcdef", "static", "Team key", "user_7",
        new JsonObject().put("priority", 2), 60L, 10_000L, 4, 30_000, 1234L);
    AuthDecision received = AuthDecision.fromJson(new JsonObject(sent.toJson().encode()));
    assertEquals(sent, received);
    assertEquals(1234L, received.remainingQuota());
  }

  @Test
  void aSpentQuotaStaysNegativeAndNoQuotaStaysNull() {
    AuthDecision spent = new AuthDecision(true, 200, null, null, "k", "redis", null, null, null, null, null, null, 0,
        -40L);
    assertEquals(-40L, AuthDecision.fromJson(new JsonObject(spent.toJson().encode())).remainingQuota());
    AuthDecision none = new AuthDecision(true, 200, null, null, "k", "redis", null, null, null, null, null, null, 0);
    assertNull(AuthDecision.fromJson(new JsonObject(none.toJson().encode())).remainingQuota());
    // A decision from a member that predates the field reads as "no quota known".
    JsonObject older = none.toJson();
    older.remove("remaining_quota");
    assertNull(AuthDecision.fromJson(older).remainingQuota());
  }

  @Test
  void aReusedDecisionKeepsEverythingButItsTimeAndQuota() {
    AuthDecision d = new AuthDecision(true, 200, null, null, "k", "builtin", "n", "u", null, 5L, 6L, 7, 30_000, 100L);
    AuthDecision reused = d.reused(1_000, 60L);
    assertEquals(new AuthDecision(true, 200, null, null, "k", "builtin", "n", "u", null, 5L, 6L, 7, 1_000, 60L), reused);
  }
}
