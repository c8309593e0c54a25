package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** When the journal runs at all: a reporter, or a key store to charge; static keys only with a quota. */
class KeepsRecordsTest {

  private static JsonObject staticAuth(long totalQuota) {
    JsonObject key = new JsonObject().put("key", "sk-static-0123456789abcdef").put("name", "k");
    if (totalQuota > 0) {
      key.put("total_quota", totalQuota);
    }
    return new JsonObject().put("auth", new JsonObject().put("enabled", true).put("pipeline", new JsonArray()
        .add(new JsonObject().put("name", "s").put("type", "static")
            .put("static", new JsonObject().put("keys", new JsonArray().add(key))))));
  }

  @Test
  void staticKeysWithoutAQuotaLeaveNothingToChargeSoNoJournalRuns() {
    assertFalse(UsageVerticle.keepsRecords(config(staticAuth(0))));
  }

  @Test
  void aStaticKeyWithAQuotaIsChargedFromTheJournal() {
    assertTrue(UsageVerticle.keepsRecords(config(staticAuth(1000))));
  }
}
