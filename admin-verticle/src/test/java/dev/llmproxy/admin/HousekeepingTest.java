package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.adminSection;
import static dev.llmproxy.admin.AdminTesting.call;
import static dev.llmproxy.admin.AdminTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the store does by itself at start (and then on its timers): quota resets at the period boundary, usage
 * records past {@code retention_days} and old charged request ids removed. Each test writes, restarts the verticle
 * and looks.
 */
@ExtendWith(VertxExtension.class)
class HousekeepingTest {

  @TempDir
  Path dir;

  private Future<String> deploy(Vertx vertx, int retentionDays) {
    JsonObject root = new JsonObject().put("admin", adminSection(dir))
        .put("usage", AdminTesting.builtinReporter(retentionDays));
    return vertx.deployVerticle(new AdminVerticle(AdminTesting.rootConfig(root)));
  }

  private Future<String> restart(Vertx vertx, String id, int retentionDays) {
    return vertx.undeploy(id).compose(v -> deploy(vertx, retentionDays));
  }

  @Test
  void usedQuotaIsResetWhenTheKeysPeriodBegan(Vertx vertx, VertxTestContext ctx) {
    String yesterday = Instant.now().minus(Duration.ofDays(1)).toString();
    String daily = "sk-reset-daily-000000001";
    String never = "sk-reset-never-000000001";
    String monthly = "sk-reset-monthly-0000001";
    List<JsonObject> changes = new CopyOnWriteArrayList<>();
    deploy(vertx, 0)
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", daily).put("total_quota", 100)
                .put("used_quota", 100).put("status", "quota_exceeded").put("quota_reset_period", "daily")
                .put("last_reset_at", yesterday))
            .compose(v -> call(vertx, "/admin/keys/create", new JsonObject().put("key", never).put("used_quota", 50)
                .put("quota_reset_period", "never").put("last_reset_at", yesterday)))
            .compose(v -> call(vertx, "/admin/keys/create", new JsonObject().put("key", monthly).put("used_quota", 60)
                .put("quota_reset_period", "monthly")))
            .compose(v -> {
              vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changes.add(m.body()));
              return restart(vertx, id, 0);
            }))
        .compose(id -> Future.all(get(vertx, daily), get(vertx, never), get(vertx, monthly)))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          JsonObject reset = all.resultAt(0);
          assertEquals(0L, reset.getLong("used_quota"));
          assertEquals(0, reset.getInteger("status"), "a key stopped for its quota is active again");
          assertTrue(reset.getString("last_reset_at").compareTo(Instant.now().minus(Duration.ofMinutes(1)).toString()) > 0);
          assertEquals(50L, all.<JsonObject>resultAt(1).getLong("used_quota"), "never is never reset");
          assertEquals(60L, all.<JsonObject>resultAt(2).getLong("used_quota"),
              "created this month: its period has not turned yet");
          assertEquals(List.of(new JsonObject().put(KeyLookup.KEY_HASH, KeyDigest.sha256Hex(daily))), changes);
          ctx.completeNow();
        })));
  }

  @Test
  void recordsPastRetentionAndOldChargeIdsAreRemoved(Vertx vertx, VertxTestContext ctx) {
    Instant now = Instant.now();
    JsonArray records = new JsonArray()
        .add(record("old", now.minus(Duration.ofDays(31))).toJson())
        .add(record("recent", now.minus(Duration.ofDays(29))).toJson())
        .add(record("today", now).toJson());
    String hash = KeyDigest.sha256Hex("sk-retention-0000000001");
    deploy(vertx, 30)
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", "sk-retention-0000000001"))
            .compose(v -> vertx.eventBus().request(Addresses.USAGE_STORE, new JsonObject().put("records", records)))
            .compose(v -> vertx.eventBus().request(Addresses.KEYS_CHARGE, new JsonObject().put("request_id", "recent")
                .put("key_hash", hash).put("tokens", 1)))
            .compose(v -> vertx.executeBlocking(() -> execute(
                "INSERT INTO quota_charges (request_id, key_hash, tokens, charged_at) VALUES ('ancient', '" + hash + "', 1, '2020-01-01T00:00:00.000Z')")))
            .compose(v -> restart(vertx, id, 30)))
        .compose(id -> Future.all(
            call(vertx, "/admin/usage/query", new JsonObject()),
            vertx.executeBlocking(() -> chargeIds())))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertEquals(2L, json(all.resultAt(0)).getJsonObject("data").getJsonObject("totals").getLong("requests"));
          assertEquals(List.of("recent"), all.resultAt(1));
          ctx.completeNow();
        })));
  }

  @Test
  void zeroRetentionKeepsEverything(Vertx vertx, VertxTestContext ctx) {
    JsonArray records = new JsonArray().add(record("ancient", Instant.parse("2001-01-01T00:00:00Z")).toJson());
    deploy(vertx, 0)
        .compose(id -> vertx.eventBus().request(Addresses.USAGE_STORE, new JsonObject().put("records", records))
            .compose(v -> restart(vertx, id, 0)))
        .compose(id -> call(vertx, "/admin/usage/query", new JsonObject()))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertEquals(1L, json(answer).getJsonObject("data").getJsonObject("totals").getLong("requests"));
          ctx.completeNow();
        })));
  }

  private static UsageRecord record(String id, Instant at) {
    return new UsageRecord(id, "sk-retention-0000000001", "builtin_auth", null, "u", "m", 1, 1, 2, false, "POST",
        "/v1/completions", at, "http://b", 200, 5, -1, false, false, "127.0.0.1");
  }

  private static Future<JsonObject> get(Vertx vertx, String key) {
    return call(vertx, "/admin/keys/get", new JsonObject().put("key", key)).map(r -> json(r).getJsonObject("data"));
  }

  private Void execute(String sql) throws Exception {
    try (Connection conn = DriverManager.getConnection(url()); Statement st = conn.createStatement()) {
      st.execute(sql);
    }
    return null;
  }

  private List<String> chargeIds() throws Exception {
    try (Connection conn = DriverManager.getConnection(url()); Statement st = conn.createStatement();
         ResultSet rs = st.executeQuery("SELECT request_id FROM quota_charges ORDER BY request_id")) {
      List<String> ids = new java.util.ArrayList<>();
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
      return ids;
    }
  }

  private String url() {
    return "jdbc:sqlite:" + dir.resolve("nested/data/keys.db");
  }
}
