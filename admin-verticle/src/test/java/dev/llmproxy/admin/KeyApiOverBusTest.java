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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The key API through the proxy's relay ({@code llmproxy.admin.http}), against a real SQLite file. */
@ExtendWith(VertxExtension.class)
class KeyApiOverBusTest {

  @TempDir
  Path dir;

  @Test
  void createGetUpdateResetDeleteAndLookup(Vertx vertx, VertxTestContext ctx) {
    String key = "sk-test-crud-000000001";
    String hash = KeyDigest.sha256Hex(key);
    List<JsonObject> changes = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changes.add(m.body()));
    JsonObject create = new JsonObject().put("key", key).put("name", "crud").put("user_id", "u1")
        .put("status", "active").put("expires_at", "2099-01-01T00:00:00+02:00").put("total_quota", 1000)
        .put("used_quota", 10).put("quota_reset_period", "monthly").put("allowed_ips", new JsonArray().add("10.0.0.0/8"))
        .put("rpm", 60).put("metadata", new JsonObject().put("team", "a"));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", create))
        .compose(created -> {
          ctx.verify(() -> {
            assertEquals(200, created.status());
            JsonObject reply = json(created);
            assertTrue(reply.getBoolean("success"));
            assertEquals(key, reply.getJsonObject("data").getString("key"), "the plain key is returned once");
            assertEquals(hash, reply.getJsonObject("data").getString("key_hash"));
            assertEquals("2098-12-31T22:00:00Z", reply.getJsonObject("data").getString("expires_at"));
          });
          return call(vertx, "/admin/keys/get", new JsonObject().put("key", key));
        })
        .compose(got -> {
          ctx.verify(() -> {
            JsonObject data = json(got).getJsonObject("data");
            assertEquals(200, got.status());
            assertEquals("crud", data.getString("name"));
            assertEquals("sk-tes…", data.getString("key"), "get shows only the display prefix");
            assertEquals(0, data.getInteger("status"));
            assertEquals(new JsonArray().add("10.0.0.0/8"), data.getJsonArray("allowed_ips"));
            assertEquals("a", data.getJsonObject("metadata").getString("team"));
          });
          return call(vertx, "/admin/keys/update", new JsonObject().put("key", key).put("status", 2)
              .put("name", "renamed").put("tpm", 5000));
        })
        .compose(updated -> {
          ctx.verify(() -> {
            JsonObject data = json(updated).getJsonObject("data");
            assertEquals(200, updated.status());
            assertEquals("renamed", data.getString("name"));
            assertEquals(2, data.getInteger("status"));
            assertEquals(5000, data.getInteger("tpm"));
            assertEquals("u1", data.getString("user_id"), "fields not in the update stay");
          });
          return call(vertx, "/admin/keys/reset_quota", new JsonObject().put("key", key));
        })
        .compose(reset -> {
          ctx.verify(() -> {
            JsonObject data = json(reset).getJsonObject("data");
            assertEquals(0L, data.getLong("used_quota"));
            assertEquals(0, data.getInteger("status"), "a key refused for its quota is active again");
            assertTrue(data.getString("last_reset_at").endsWith("Z"));
          });
          return lookup(vertx, hash);
        })
        .compose(record -> {
          ctx.verify(() -> {
            JsonObject found = (JsonObject) record;
            assertEquals("renamed", found.getString("name"));
            assertEquals(1000L, found.getLong("total_quota"));
            assertEquals("monthly", found.getString("quota_reset_period"));
            assertEquals(60, found.getInteger("rpm"));
          });
          return call(vertx, "/admin/keys/delete", new JsonObject().put("key", key));
        })
        .compose(deleted -> {
          ctx.verify(() -> assertEquals(200, deleted.status()));
          return Future.all(lookup(vertx, hash), call(vertx, "/admin/keys/get", new JsonObject().put("key", key)),
              call(vertx, "/admin/keys/update", new JsonObject().put("key", key).put("name", "x")),
              call(vertx, "/admin/keys/delete", new JsonObject().put("key", key)));
        })
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertNull(all.resultAt(0), "a deleted key is absent");
          assertEquals(404, ((AdminCall.Response) all.resultAt(1)).status());
          assertEquals(404, ((AdminCall.Response) all.resultAt(2)).status());
          assertEquals(404, ((AdminCall.Response) all.resultAt(3)).status());
          // create, update, reset_quota, delete: one publication each, naming the key by its hash
          assertEquals(4, changes.size(), changes.toString());
          changes.forEach(c -> assertEquals(hash, c.getString(KeyLookup.KEY_HASH)));
          ctx.completeNow();
        })));
  }

  /** No object handed over: deployed from its deployment's JSON config alone, as by class name. */
  @Test
  void deployedFromItsJsonConfigAloneItServesTheKeyApi(Vertx vertx, VertxTestContext ctx) {
    vertx.deployVerticle(() -> new AdminVerticle(), new io.vertx.core.DeploymentOptions()
            .setConfig(AdminTesting.config(adminSection(dir)).toJson()))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("name", "from-json")))
        .onComplete(ctx.succeeding(created -> ctx.verify(() -> {
          assertEquals(200, created.status(), created.body());
          assertTrue(json(created).getJsonObject("data").getString("key").startsWith("sk-"));
          ctx.completeNow();
        })));
  }

  @Test
  void generatedKeysAreStrongAndWorkAndNoColumnHoldsThePlainKey(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("name", "generated")))
        .compose(created -> {
          String key = json(created).getJsonObject("data").getString("key");
          ctx.verify(() -> {
            assertEquals(200, created.status());
            assertTrue(key.matches("sk-[A-Za-z0-9_-]{43}"), key);
          });
          return lookup(vertx, KeyDigest.sha256Hex(key)).map(record -> {
            ctx.verify(() -> assertEquals("generated", ((JsonObject) record).getString("name")));
            return key;
          });
        })
        .compose(key -> vertx.executeBlocking(() -> everyStoredValue(dir)).map(values -> {
          ctx.verify(() -> {
            assertFalse(values.isEmpty());
            values.forEach(v -> assertFalse(v.contains(key.substring(3)), "stored: " + v));
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void concurrentCreatesOfOneKeyLetOneWinAndTheOther409(Vertx vertx, VertxTestContext ctx) {
    JsonObject body = new JsonObject().put("key", "sk-race-0000000000001");
    deploy(vertx, adminSection(dir))
        .compose(id -> Future.all(call(vertx, "/admin/keys/create", body), call(vertx, "/admin/keys/create", body)))
        .compose(both -> {
          List<Integer> statuses = new ArrayList<>(List.of(((AdminCall.Response) both.resultAt(0)).status(),
              ((AdminCall.Response) both.resultAt(1)).status()));
          statuses.sort(null);
          ctx.verify(() -> assertEquals(List.of(200, 409), statuses));
          return call(vertx, "/admin/keys/create", body);
        })
        .onComplete(ctx.succeeding(again -> ctx.verify(() -> {
          assertEquals(409, again.status());
          assertFalse(json(again).getBoolean("success"));
          assertEquals("", json(again).getString("message"));
          ctx.completeNow();
        })));
  }

  @Test
  void listPagesNewestFirstWithTheTotal(Vertx vertx, VertxTestContext ctx) {
    Future<?> chain = deploy(vertx, adminSection(dir));
    for (int i = 0; i < 5; i++) {
      JsonObject body = new JsonObject().put("key", "sk-list-00000000000" + i).put("name", "k" + i);
      chain = chain.compose(v -> call(vertx, "/admin/keys/create", body));
    }
    chain.compose(v -> Future.all(call(vertx, "/admin/keys/list", new JsonObject().put("offset", 1).put("limit", 2)),
            call(vertx, "/admin/keys/list", null),
            call(vertx, "/admin/keys/list", new JsonObject().put("limit", 1000))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          JsonObject page = json(all.resultAt(0)).getJsonObject("data");
          assertEquals(5, page.getInteger("total"));
          assertEquals(List.of("k3", "k2"), names(page.getJsonArray("keys")));
          assertEquals(List.of("k4", "k3", "k2", "k1", "k0"),
              names(json(all.resultAt(1)).getJsonObject("data").getJsonArray("keys")));
          assertEquals(5, json(all.resultAt(2)).getJsonObject("data").getJsonArray("keys").size());
          ctx.completeNow();
        })));
  }

  @Test
  void tokenMethodAndBadInputGet4xxInTheOriginalShape(Vertx vertx, VertxTestContext ctx) {
    String create = "/admin/keys/create";
    deploy(vertx, adminSection(dir))
        .compose(id -> Future.all(List.of(
            AdminTesting.call(vertx, "POST", create, null, "{}"),
            AdminTesting.call(vertx, "POST", create, "wrong", "{}"),
            AdminTesting.call(vertx, "GET", create, AdminTesting.TOKEN, ""),
            AdminTesting.call(vertx, "POST", "/admin/nothing", AdminTesting.TOKEN, "{}"),
            AdminTesting.call(vertx, "POST", create, AdminTesting.TOKEN, "{not json"),
            AdminTesting.call(vertx, "POST", create, AdminTesting.TOKEN, "[1]"),
            call(vertx, create, new JsonObject().put("key", "sk-bad-date-0000001").put("expires_at", "tomorrow")),
            call(vertx, create, new JsonObject().put("key", "sk-bad-status-00001").put("status", "sleepy")),
            call(vertx, create, new JsonObject().put("key", 42)),
            call(vertx, create, new JsonObject().put("key", "sk-bad-quota-000001").put("total_quota", "lots")),
            call(vertx, create, new JsonObject().put("key", "sk-bad-ips-00000001").put("allowed_ips",
                new JsonArray().add("not-an-ip"))),
            call(vertx, "/admin/keys/get", new JsonObject()),
            call(vertx, "/admin/keys/list", new JsonObject().put("limit", "ten")),
            AdminTesting.call(vertx, "POST", create, AdminTesting.TOKEN, "{\"name\":\"" + "x".repeat(70_000) + "\"}"))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          int[] expected = {401, 403, 405, 404, 400, 400, 400, 400, 400, 400, 400, 400, 400, 413};
          for (int i = 0; i < expected.length; i++) {
            AdminCall.Response response = all.resultAt(i);
            assertEquals(expected[i], response.status(), "call " + i + ": " + response.body());
            JsonObject reply = json(response);
            assertFalse(reply.getBoolean("success"));
            assertEquals("", reply.getString("message"));
            assertFalse(reply.getString("error").isEmpty());
          }
          ctx.completeNow();
        })));
  }

  @Test
  void disabledAdminRegistersNothing(Vertx vertx, VertxTestContext ctx) {
    vertx.deployVerticle(new AdminVerticle(AdminTesting.config(new JsonObject().put("enabled", false))))
        .compose(id -> lookup(vertx, KeyDigest.sha256Hex("sk-anything")))
        .onComplete(ctx.failing(e -> ctx.verify(() -> {
          assertTrue(e.getMessage().contains("No handlers"), e.getMessage());
          ctx.completeNow();
        })));
  }

  private static Future<Object> lookup(Vertx vertx, String hash) {
    return vertx.eventBus().request(Addresses.KEYS_LOOKUP, new JsonObject().put(KeyLookup.KEY_HASH, hash))
        .map(reply -> reply.body());
  }

  private static List<String> names(JsonArray keys) {
    List<String> names = new ArrayList<>();
    keys.forEach(k -> names.add(((JsonObject) k).getString("name")));
    return names;
  }

  /** Every value of every column of api_keys, read with plain JDBC as an attacker with the file would. */
  static List<String> everyStoredValue(Path dir) throws Exception {
    List<String> values = new ArrayList<>();
    String url = "jdbc:sqlite:" + dir.resolve("nested/data/keys.db");
    try (Connection conn = DriverManager.getConnection(url); Statement st = conn.createStatement();
         ResultSet rs = st.executeQuery("SELECT * FROM api_keys")) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        for (int c = 1; c <= columns; c++) {
          values.add(String.valueOf(rs.getString(c)));
        }
      }
    }
    return values;
  }
}
