package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.adminSection;
import static dev.llmproxy.admin.AdminTesting.call;
import static dev.llmproxy.admin.AdminTesting.deploy;
import static dev.llmproxy.admin.AdminTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The builtin usage store fed over {@code llmproxy.usage.store}, quota charges over {@code llmproxy.keys.charge},
 * and {@code /admin/usage/query} reading back what was written.
 */
@ExtendWith(VertxExtension.class)
class UsageStoreTest {

  private static final String KEY_A = "sk-usage-key-a-000000001";
  private static final String KEY_B = "sk-usage-key-b-000000001";

  @TempDir
  Path dir;

  private static UsageRecord record(String id, String key, String user, String model, long prompt, long completion,
      String time) {
    return new UsageRecord(id, key, "builtin_auth", "name-" + user, user, model, prompt, completion,
        prompt + completion, true, "POST", "/v1/chat/completions", Instant.parse(time), "http://backend:8000", 200,
        120, 30, false, false, "10.0.0.1");
  }

  private static final List<UsageRecord> RECORDS = List.of(
      record("req-1", KEY_A, "u1", "llama", 10, 20, "2026-03-01T10:00:00Z"),
      record("req-2", KEY_A, "u1", "qwen", 5, 5, "2026-03-01T23:59:59.999Z"),
      record("req-3", KEY_B, "u2", "llama", 100, 1, "2026-03-02T00:00:00Z"),
      record("req-4", KEY_B, "u2", "llama", 7, 3, "2026-03-03T12:30:00.5Z"),
      record("req-5", null, null, "qwen", 1, 1, "2026-03-04T08:00:00Z"));

  private static JsonObject batch(List<UsageRecord> records) {
    JsonArray list = new JsonArray();
    records.forEach(r -> list.add(r.toJson()));
    return new JsonObject().put("records", list);
  }

  private static Future<JsonObject> store(Vertx vertx, JsonObject body) {
    return vertx.eventBus().<JsonObject>request(Addresses.USAGE_STORE, body).map(m -> m.body());
  }

  private static Future<JsonObject> query(Vertx vertx, JsonObject body) {
    return call(vertx, "/admin/usage/query", body).map(r -> {
      if (r.status() != 200) {
        throw new AssertionError(r.status() + " " + r.body());
      }
      return json(r).getJsonObject("data");
    });
  }

  @Test
  void recordsAreStoredOncePerRequestIdAndTotalsMatchWhatWasWritten(Vertx vertx, VertxTestContext ctx) {
    JsonObject again = batch(List.of(RECORDS.get(0), RECORDS.get(1),
        record("req-6", KEY_A, "u1", "llama", 2, 2, "2026-03-05T00:00:00Z")));
    again.getJsonArray("records").add(new JsonObject().put("model", "no request id").put("timestamp",
        "2026-03-05T00:00:00Z"));
    List<UsageRecord> all = new ArrayList<>(RECORDS);
    all.add(record("req-6", KEY_A, "u1", "llama", 2, 2, "2026-03-05T00:00:00Z"));
    deploy(vertx, adminSection(dir))
        .compose(id -> store(vertx, batch(RECORDS)))
        .compose(first -> {
          ctx.verify(() -> assertEquals(5, first.getInteger("stored")));
          return store(vertx, again);
        })
        .compose(second -> {
          ctx.verify(() -> {
            assertEquals(1, second.getInteger("stored"), "two of three were stored already");
            assertEquals(1, second.getInteger("rejected"));
          });
          return Future.all(List.of(
              query(vertx, new JsonObject()),
              query(vertx, new JsonObject().put("group_by", "model")),
              query(vertx, new JsonObject().put("group_by", "day")),
              query(vertx, new JsonObject().put("key", KEY_A)),
              query(vertx, new JsonObject().put("key", KeyDigest.sha256Hex(KEY_B)).put("group_by", "key")),
              query(vertx, new JsonObject().put("user", "u2").put("model", "llama")),
              query(vertx, new JsonObject().put("start", "2026-03-01").put("end", "2026-03-01")),
              query(vertx, new JsonObject().put("start", "2026-03-01T23:59:59.999Z").put("end", "2026-03-02T00:00:00Z")),
              query(vertx, new JsonObject().put("start", "2026-03-03T13:30:00+01:00").put("group_by", "user"))));
        })
        .compose(results -> {
          ctx.verify(() -> {
            assertEquals(totals(all), results.<JsonObject>resultAt(0).getJsonObject("totals"));
            JsonObject byModel = results.resultAt(1);
            assertEquals(totals(all), byModel.getJsonObject("totals"));
            assertEquals(groups(all, "model"), byModel.getJsonArray("groups"));
            assertEquals(groups(all, "day"), results.<JsonObject>resultAt(2).getJsonArray("groups"));
            assertEquals(totals(all.stream().filter(r -> KEY_A.equals(r.apiKey())).toList()),
                results.<JsonObject>resultAt(3).getJsonObject("totals"));
            JsonObject byKey = results.resultAt(4);
            assertEquals(1, byKey.getJsonArray("groups").size());
            JsonObject keyGroup = byKey.getJsonArray("groups").getJsonObject(0);
            assertEquals("sk-...0001", keyGroup.getString("key"), "keys are shown masked");
            assertEquals(2L, keyGroup.getLong("requests"));
            assertEquals(totals(all.stream().filter(r -> "u2".equals(r.userId())).toList()),
                results.<JsonObject>resultAt(5).getJsonObject("totals"));
            assertEquals(2L, results.<JsonObject>resultAt(6).getJsonObject("totals").getLong("requests"),
                "a date range covers whole days");
            assertEquals(2L, results.<JsonObject>resultAt(7).getJsonObject("totals").getLong("requests"),
                "both ends are inclusive");
            JsonObject fromTheThird = results.resultAt(8);
            assertEquals(3L, fromTheThird.getJsonObject("totals").getLong("requests"));
            assertEquals(List.of("u1", "u2"), fromTheThird.getJsonArray("groups").stream()
                .map(g -> ((JsonObject) g).getString("user")).filter(u -> u != null).sorted().toList());
          });
          return vertx.executeBlocking(() -> storedKeys(dir));
        })
        .onComplete(ctx.succeeding(stored -> ctx.verify(() -> {
          assertEquals(6, stored.size());
          stored.forEach(v -> assertFalse(v.contains("usage-key"), "plain key stored: " + v));
          ctx.completeNow();
        })));
  }

  @Test
  void aRecordCutShortByTheGatewayKeepsWhy(Vertx vertx, VertxTestContext ctx) {
    storeACutRecord(vertx, ctx);
  }

  @Test
  void aStoreMadeBeforeTheCutOffColumnGetsIt(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path file = dir.resolve("nested/data/keys.db");
    java.nio.file.Files.createDirectories(file.getParent());
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = conn.createStatement()) {
      st.execute("CREATE TABLE usage_records (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT, api_key TEXT,"
          + " created_at TEXT, key_hash TEXT, metadata TEXT)");
    }
    storeACutRecord(vertx, ctx);
  }

  private void storeACutRecord(Vertx vertx, VertxTestContext ctx) {
    UsageRecord cut = record("req-cut", KEY_A, "u1", "llama", 10, 4, "2026-03-01T10:00:00Z").withCutOff("quota_exceeded");
    deploy(vertx, adminSection(dir))
        .compose(id -> store(vertx, batch(List.of(cut, RECORDS.get(0)))))
        .compose(stored -> vertx.executeBlocking(() -> cutOffs(dir)))
        .onComplete(ctx.succeeding(cutOffs -> ctx.verify(() -> {
          assertEquals(java.util.Map.of("req-cut", "quota_exceeded", "req-1", "-"), cutOffs);
          ctx.completeNow();
        })));
  }

  /** Request id to its {@code cut_off} column ("-" for null). */
  private static java.util.Map<String, String> cutOffs(Path dir) throws Exception {
    java.util.Map<String, String> values = new java.util.HashMap<>();
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("nested/data/keys.db"));
         Statement st = conn.createStatement();
         ResultSet rs = st.executeQuery("SELECT request_id, cut_off FROM usage_records")) {
      while (rs.next()) {
        values.put(rs.getString(1), rs.getString(2) == null ? "-" : rs.getString(2));
      }
    }
    return values;
  }

  @Test
  void aChargeCountsOncePerRequestIdAndTellsTheAuthCache(Vertx vertx, VertxTestContext ctx) {
    String hash = KeyDigest.sha256Hex(KEY_A);
    List<JsonObject> changes = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changes.add(m.body()));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", KEY_A).put("total_quota", 1000)))
        .compose(created -> {
          changes.clear();
          // the same request charged five times at once (a retry racing its original): one charge
          List<Future<JsonObject>> racing = new ArrayList<>();
          for (int i = 0; i < 5; i++) {
            racing.add(charge(vertx, "req-1", hash, 30));
          }
          return Future.all(racing);
        })
        .compose(racing -> {
          ctx.verify(() -> {
            long charged = racing.<JsonObject>list().stream().filter(r -> r.getBoolean("charged")).count();
            assertEquals(1, charged);
            racing.<JsonObject>list().forEach(r -> assertEquals(30L, r.getLong("used_quota")));
            assertEquals(List.of(new JsonObject().put(KeyLookup.KEY_HASH, hash)), changes);
          });
          return charge(vertx, "req-2", hash.toUpperCase(), 12);
        })
        .compose(second -> {
          ctx.verify(() -> {
            assertTrue(second.getBoolean("charged"));
            assertEquals(42L, second.getLong("used_quota"));
          });
          return Future.all(
              vertx.eventBus().<JsonObject>request(Addresses.KEYS_LOOKUP, new JsonObject().put(KeyLookup.KEY_HASH, hash)),
              charge(vertx, "req-3", KeyDigest.sha256Hex("sk-not-in-the-store"), 5),
              charge(vertx, "req-4", hash, -1).map(r -> "accepted").otherwise(e -> ((ReplyException) e).failureCode() + ""),
              vertx.eventBus().request(Addresses.KEYS_CHARGE, new JsonObject().put("key_hash", hash).put("tokens", 1))
                  .map(r -> "accepted").otherwise(e -> ((ReplyException) e).failureCode() + ""));
        })
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertEquals(42L, all.<io.vertx.core.eventbus.Message<JsonObject>>resultAt(0).body().getLong("used_quota"));
          JsonObject unknown = all.resultAt(1);
          assertFalse(unknown.getBoolean("charged"));
          assertNull(unknown.getValue("used_quota"));
          assertEquals("400", all.resultAt(2));
          assertEquals("400", all.resultAt(3));
          ctx.completeNow();
        })));
  }

  @Test
  void aBatchChargesEachKeyTheSumOfItsNewRequestsOnce(Vertx vertx, VertxTestContext ctx) {
    String a = KeyDigest.sha256Hex(KEY_A);
    String b = KeyDigest.sha256Hex(KEY_B);
    List<JsonObject> changes = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changes.add(m.body()));
    JsonObject batch = new JsonObject().put("charges", new JsonArray()
        .add(charge("r1", a, 10)).add(charge("r2", a.toUpperCase(), 5)).add(charge("r3", b, 7))
        .add(charge("r1", a, 10)).add(charge("r4", KeyDigest.sha256Hex("sk-not-in-the-store"), 3)));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", KEY_A)))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", KEY_B)))
        .compose(created -> {
          changes.clear();
          return vertx.eventBus().<JsonObject>request(Addresses.KEYS_CHARGE, batch);
        })
        .compose(first -> {
          ctx.verify(() -> {
            assertEquals(new JsonObject().put(a, 15L).put(b, 7L), first.body().getJsonObject("charged"));
            assertEquals(2, changes.size(), "one keys.changed per charged key: " + changes);
          });
          // the same batch again, as after a lost reply: nothing more is charged
          return vertx.eventBus().<JsonObject>request(Addresses.KEYS_CHARGE, batch);
        })
        .compose(retry -> {
          ctx.verify(() -> assertEquals(new JsonObject(), retry.body().getJsonObject("charged")));
          return Future.all(
              vertx.eventBus().<JsonObject>request(Addresses.KEYS_LOOKUP, new JsonObject().put(KeyLookup.KEY_HASH, a)),
              vertx.eventBus().<JsonObject>request(Addresses.KEYS_LOOKUP, new JsonObject().put(KeyLookup.KEY_HASH, b)),
              vertx.eventBus().request(Addresses.KEYS_CHARGE, new JsonObject().put("charges", new JsonArray()
                  .add(charge("r5", a, -1)))).map(r -> "accepted").otherwise(e -> ((ReplyException) e).failureCode() + ""));
        })
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertEquals(15L, all.<io.vertx.core.eventbus.Message<JsonObject>>resultAt(0).body().getLong("used_quota"));
          assertEquals(7L, all.<io.vertx.core.eventbus.Message<JsonObject>>resultAt(1).body().getLong("used_quota"));
          assertEquals("400", all.resultAt(2));
          ctx.completeNow();
        })));
  }

  private static JsonObject charge(String requestId, String hash, long tokens) {
    return new JsonObject().put("request_id", requestId).put("key_hash", hash).put("tokens", tokens);
  }

  @Test
  void badQueriesAre400InTheOriginalShape(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, adminSection(dir))
        .compose(id -> Future.all(List.of(
            call(vertx, "/admin/usage/query", new JsonObject().put("start", "yesterday")),
            call(vertx, "/admin/usage/query", new JsonObject().put("end", "2026-02-30")),
            call(vertx, "/admin/usage/query", new JsonObject().put("start", "2026-03-02").put("end", "2026-03-01")),
            call(vertx, "/admin/usage/query", new JsonObject().put("group_by", "hour")),
            call(vertx, "/admin/usage/query", new JsonObject().put("key", 12)),
            call(vertx, "/admin/usage/query", new JsonObject().put("model", new JsonArray())),
            AdminTesting.call(vertx, "GET", "/admin/usage/query", AdminTesting.TOKEN, ""))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          int[] expected = {400, 400, 400, 400, 400, 400, 405};
          for (int i = 0; i < expected.length; i++) {
            AdminCall.Response response = all.resultAt(i);
            assertEquals(expected[i], response.status(), "call " + i + ": " + response.body());
            assertFalse(json(response).getBoolean("success"));
            assertFalse(json(response).getString("error").isEmpty());
          }
          ctx.completeNow();
        })));
  }

  private static Future<JsonObject> charge(Vertx vertx, String requestId, String hash, long tokens) {
    return vertx.eventBus().<JsonObject>request(Addresses.KEYS_CHARGE, new JsonObject().put("request_id", requestId)
        .put("key_hash", hash).put("tokens", tokens)).map(m -> m.body());
  }

  private static JsonObject totals(List<UsageRecord> records) {
    return new JsonObject().put("requests", (long) records.size())
        .put("prompt_tokens", records.stream().mapToLong(UsageRecord::promptTokens).sum())
        .put("completion_tokens", records.stream().mapToLong(UsageRecord::completionTokens).sum())
        .put("total_tokens", records.stream().mapToLong(UsageRecord::totalTokens).sum());
  }

  /** The expected groups, ordered by label as the store orders them. */
  private static JsonArray groups(List<UsageRecord> records, String by) {
    Map<String, List<UsageRecord>> grouped = new HashMap<>();
    for (UsageRecord r : records) {
      String label = by.equals("model") ? r.model() : r.timestamp().toString().substring(0, 10);
      grouped.computeIfAbsent(label, l -> new ArrayList<>()).add(r);
    }
    JsonArray out = new JsonArray();
    grouped.keySet().stream().sorted().forEach(label -> out.add(new JsonObject().put(by, label)
        .mergeIn(totals(grouped.get(label)))));
    return out;
  }

  private static List<String> storedKeys(Path dir) throws Exception {
    List<String> values = new ArrayList<>();
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("nested/data/keys.db"));
         Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM usage_records")) {
      while (rs.next()) {
        StringBuilder row = new StringBuilder();
        for (int c = 1; c <= rs.getMetaData().getColumnCount(); c++) {
          row.append(rs.getString(c)).append('|');
        }
        values.add(row.toString());
      }
    }
    return values;
  }
}
