package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.call;
import static dev.llmproxy.admin.AdminTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store file in the original's schema (plain keys in {@code api_keys.key}, plain keys in {@code usage_records}, Go's
 * time format) is migrated in place on first start: keys hashed, times normalised, data kept, and a second start
 * changes nothing.
 */
@ExtendWith(VertxExtension.class)
class MigrationTest {

  private static final String ACTIVE = "sk-original-active-0001";
  private static final String DISABLED = "sk-original-disabled-01";

  @TempDir
  Path dir;

  @Test
  void anOriginalStoreIsMigratedInPlaceAndStillAnswers(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path db = dir.resolve("nested/data/keys.db");
    Files.createDirectories(db.getParent());
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = conn.createStatement()) {
      st.execute("CREATE TABLE api_keys (key TEXT PRIMARY KEY, name TEXT, user_id TEXT, status INTEGER DEFAULT 0, "
          + "starts_at DATETIME, expires_at DATETIME, created_at DATETIME, updated_at DATETIME)");
      st.execute("CREATE INDEX idx_api_keys_status ON api_keys(status)");
      st.execute("CREATE INDEX idx_api_keys_user_id ON api_keys(user_id)");
      st.execute("INSERT INTO api_keys VALUES ('" + ACTIVE + "', 'old one', 'u1', 0, "
          + "'2024-01-01 08:00:00+08:00', '2099-06-30 12:00:00.123456789+00:00', '2024-01-01 00:00:00+00:00', "
          + "'2024-01-02 00:00:00+00:00')");
      st.execute("INSERT INTO api_keys VALUES ('" + DISABLED + "', 'off', 'u2', 1, NULL, NULL, "
          + "'2024-01-03 00:00:00+00:00', '2024-01-03 00:00:00+00:00')");
      st.execute("CREATE TABLE usage_records (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT, api_key TEXT, "
          + "user_id TEXT, model TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, "
          + "endpoint TEXT, backend_url TEXT, status_code INTEGER, latency_ms INTEGER, streaming BOOLEAN, "
          + "created_at DATETIME)");
      st.execute("INSERT INTO usage_records (request_id, api_key, user_id, model, prompt_tokens, completion_tokens, "
          + "total_tokens, endpoint, backend_url, status_code, latency_ms, streaming, created_at) VALUES "
          + "('r1', '" + ACTIVE + "', 'u1', 'm', 10, 5, 15, '/v1/chat/completions', 'http://b', 200, 12, 1, "
          + "'2024-01-05 10:00:00+02:00'), "
          + "('r1', '" + ACTIVE + "', 'u1', 'm', 10, 5, 15, '/v1/chat/completions', 'http://b', 200, 12, 1, "
          + "'2024-01-05 10:00:00+02:00'), "
          + "('r2', '" + DISABLED + "', 'u2', 'm', 1, 2, 3, '/v1/completions', 'http://b', 200, 9, 0, "
          + "'2024-01-06 00:00:00+00:00')");
    }
    AdminTesting.deploy(vertx, AdminTesting.adminSection(dir))
        .compose(id -> vertx.eventBus().<JsonObject>request(Addresses.KEYS_LOOKUP,
            new JsonObject().put(KeyLookup.KEY_HASH, KeyDigest.sha256Hex(ACTIVE))))
        .compose(found -> {
          ctx.verify(() -> {
            JsonObject record = found.body();
            assertNotNull(record, "the migrated key is found by its hash");
            assertEquals("old one", record.getString("name"));
            assertEquals("u1", record.getString("user_id"));
            assertEquals(0, record.getInteger("status"));
            assertEquals("2024-01-01T00:00:00.000Z", record.getString("starts_at"));
            assertEquals("2099-06-30T12:00:00.123Z", record.getString("expires_at"));
            assertEquals(0L, record.getLong("used_quota"));
          });
          return call(vertx, "/admin/keys/get", new JsonObject().put("key", DISABLED));
        })
        .compose(got -> {
          ctx.verify(() -> {
            assertEquals(200, got.status(), got.body());
            assertEquals(1, json(got).getJsonObject("data").getInteger("status"));
          });
          return call(vertx, "/admin/usage/query", new JsonObject().put("key", ACTIVE));
        })
        .compose(usage -> {
          ctx.verify(() -> {
            JsonObject totals = json(usage).getJsonObject("data").getJsonObject("totals");
            assertEquals(1L, totals.getLong("requests"), "the repeated request id was dropped");
            assertEquals(15L, totals.getLong("total_tokens"));
          });
          return call(vertx, "/admin/usage/query", new JsonObject().put("start", "2024-01-05T08:00:00Z")
              .put("end", "2024-01-05T08:00:00Z"));
        })
        .compose(usage -> {
          ctx.verify(() -> assertEquals(1L, json(usage).getJsonObject("data").getJsonObject("totals")
              .getLong("requests"), "10:00+02:00 was stored as 08:00Z"));
          return vertx.executeBlocking(() -> everyValue(db));
        })
        .compose(values -> {
          ctx.verify(() -> {
            assertFalse(values.isEmpty());
            for (String v : values) {
              assertFalse(v.contains("original-active") || v.contains("original-disabled"), "plain key left: " + v);
            }
          });
          // a second start finds nothing to migrate and changes nothing
          return vertx.undeploy(vertx.deploymentIDs().iterator().next())
              .compose(v -> AdminTesting.deploy(vertx, AdminTesting.adminSection(dir)))
              .compose(v -> call(vertx, "/admin/keys/list", new JsonObject()));
        })
        .onComplete(ctx.succeeding(list -> ctx.verify(() -> {
          assertEquals(2, json(list).getJsonObject("data").getInteger("total"));
          assertTrue(json(list).getJsonObject("data").getJsonArray("keys").stream()
              .allMatch(k -> ((JsonObject) k).getString("key_hash").matches("[0-9a-f]{64}")));
          ctx.completeNow();
        })));
  }

  /** Every value of both tables, read with plain JDBC as someone holding the file would. */
  private static List<String> everyValue(Path db) throws Exception {
    List<String> values = new ArrayList<>();
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = conn.createStatement()) {
      for (String table : List.of("api_keys", "usage_records")) {
        try (ResultSet rs = st.executeQuery("SELECT * FROM " + table)) {
          while (rs.next()) {
            for (int c = 1; c <= rs.getMetaData().getColumnCount(); c++) {
              values.add(String.valueOf(rs.getString(c)));
            }
          }
        }
      }
    }
    return values;
  }
}
