package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.adminSection;
import static dev.llmproxy.admin.AdminTesting.call;
import static dev.llmproxy.admin.AdminTesting.deploy;
import static dev.llmproxy.admin.AdminTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code /admin/keys/sync}: incremental upserts, full also deletes what the list leaves out, bad lists change nothing. */
@ExtendWith(VertxExtension.class)
class KeySyncTest {

  @TempDir
  Path dir;

  @Test
  void incrementalUpsertsAndFullReplaces(Vertx vertx, VertxTestContext ctx) {
    List<JsonObject> changes = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.KEYS_CHANGED, m -> changes.add(m.body()));
    JsonObject incremental = new JsonObject().put("mode", "incremental").put("keys", new JsonArray()
        .add(new JsonObject().put("key", "sk-sync-a-00000000001").put("name", "a").put("used_quota", 7))
        .add(new JsonObject().put("key", "sk-sync-b-00000000001").put("name", "b")));
    JsonObject full = new JsonObject().put("mode", "full").put("keys", new JsonArray()
        .add(new JsonObject().put("key", "sk-sync-a-00000000001").put("name", "a2"))
        .add(new JsonObject().put("key", "sk-sync-c-00000000001").put("name", "c").put("status", "disabled")));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", "sk-sync-a-00000000001")
            .put("name", "before")))
        .compose(created -> call(vertx, "/admin/keys/sync", incremental))
        .compose(synced -> {
          ctx.verify(() -> {
            assertEquals(200, synced.status(), synced.body());
            JsonObject data = json(synced).getJsonObject("data");
            assertEquals(1, data.getInteger("created"));
            assertEquals(1, data.getInteger("updated"));
            assertEquals(0, data.getInteger("deleted"));
          });
          return call(vertx, "/admin/keys/sync", full);
        })
        .compose(synced -> {
          ctx.verify(() -> {
            JsonObject data = json(synced).getJsonObject("data");
            assertEquals(200, synced.status(), synced.body());
            assertEquals(1, data.getInteger("created"));
            assertEquals(1, data.getInteger("updated"));
            assertEquals(1, data.getInteger("deleted"), "b was not in the full list");
          });
          return Future.all(call(vertx, "/admin/keys/list", new JsonObject()),
              call(vertx, "/admin/keys/get", new JsonObject().put("key", "sk-sync-a-00000000001")),
              call(vertx, "/admin/keys/get", new JsonObject().put("key", "sk-sync-b-00000000001")));
        })
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          JsonArray keys = json(all.resultAt(0)).getJsonObject("data").getJsonArray("keys");
          List<String> names = new ArrayList<>();
          keys.forEach(k -> names.add(((JsonObject) k).getString("name")));
          names.sort(null);
          assertEquals(List.of("a2", "c"), names);
          JsonObject a = json(all.resultAt(1)).getJsonObject("data");
          assertEquals(7L, a.getLong("used_quota"), "fields a sync leaves out keep their values");
          assertEquals(404, ((AdminCall.Response) all.resultAt(2)).status());
          // one "all" publication per sync that changed something, besides the create's own
          assertEquals(2, changes.stream().filter(c -> c.getBoolean(KeyLookup.ALL, false)).count(), changes.toString());
          ctx.completeNow();
        })));
  }

  /**
   * A write the store refuses halfway (a trigger stands in for a full disk or a constraint) rolls the whole sync
   * back, and the one pooled connection is not left inside the transaction: the next calls work.
   */
  @Test
  void aFailureHalfwayRollsTheSyncBack(Vertx vertx, VertxTestContext ctx) {
    JsonObject sync = new JsonObject().put("mode", "full").put("keys", new JsonArray()
        .add(new JsonObject().put("key", "sk-sync-fine-00000001").put("name", "fine"))
        .add(new JsonObject().put("key", "sk-sync-boom-00000001").put("name", "boom")));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", "sk-sync-kept-00000001")))
        .compose(created -> vertx.executeBlocking(() -> {
          try (java.sql.Connection conn = java.sql.DriverManager.getConnection(
              "jdbc:sqlite:" + dir.resolve("nested/data/keys.db")); java.sql.Statement st = conn.createStatement()) {
            st.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON api_keys WHEN NEW.name = 'boom' "
                + "BEGIN SELECT RAISE(ABORT, 'refused'); END");
          }
          return null;
        }))
        .compose(v -> call(vertx, "/admin/keys/sync", sync))
        .compose(failed -> {
          ctx.verify(() -> {
            assertEquals(503, failed.status(), failed.body());
            assertFalse(json(failed).getBoolean("success"));
          });
          return call(vertx, "/admin/keys/create", new JsonObject().put("key", "sk-sync-after-0000001"));
        })
        .compose(after -> {
          ctx.verify(() -> assertEquals(200, after.status(), after.body()));
          return call(vertx, "/admin/keys/list", new JsonObject());
        })
        .onComplete(ctx.succeeding(list -> ctx.verify(() -> {
          JsonObject data = json(list).getJsonObject("data");
          assertEquals(2, data.getInteger("total"), "fine was rolled back, kept was not deleted: " + data);
          ctx.completeNow();
        })));
  }

  @Test
  void aBadEntryRejectsTheWholeSync(Vertx vertx, VertxTestContext ctx) {
    JsonObject partlyBad = new JsonObject().put("mode", "full").put("keys", new JsonArray()
        .add(new JsonObject().put("key", "sk-sync-ok-0000000001"))
        .add(new JsonObject().put("key", "sk-sync-bad-000000001").put("expires_at", "next week")));
    deploy(vertx, adminSection(dir))
        .compose(id -> call(vertx, "/admin/keys/create", new JsonObject().put("key", "sk-sync-keep-00000001")))
        .compose(created -> Future.all(List.of(
            call(vertx, "/admin/keys/sync", partlyBad),
            call(vertx, "/admin/keys/sync", new JsonObject().put("mode", "everything").put("keys", new JsonArray())),
            call(vertx, "/admin/keys/sync", new JsonObject().put("mode", "full")),
            call(vertx, "/admin/keys/sync", new JsonObject().put("keys", new JsonArray().add("sk-not-an-object"))),
            call(vertx, "/admin/keys/sync", new JsonObject().put("keys", new JsonArray()
                .add(new JsonObject().put("key", "sk-twice-000000000001"))
                .add(new JsonObject().put("key", "sk-twice-000000000001")))))))
        .compose(all -> {
          ctx.verify(() -> {
            for (int i = 0; i < all.size(); i++) {
              AdminCall.Response response = all.resultAt(i);
              assertEquals(400, response.status(), "call " + i + ": " + response.body());
              assertFalse(json(response).getBoolean("success"));
            }
            assertEquals(true, json(all.resultAt(0)).getString("error").startsWith("keys[1]: "),
                json(all.resultAt(0)).getString("error"));
          });
          return call(vertx, "/admin/keys/list", new JsonObject());
        })
        .onComplete(ctx.succeeding(list -> ctx.verify(() -> {
          JsonObject data = json(list).getJsonObject("data");
          assertEquals(1, data.getInteger("total"), "nothing was written or deleted: " + data);
          ctx.completeNow();
        })));
  }
}
