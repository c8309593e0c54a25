package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.unique;
import static dev.llmproxy.usage.UsageTesting.usage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The database reporter against real PostgreSQL, MariaDB and SQLite: the table is created, rows carry the
 * record, and a restart that re-delivers everything (its cursor lost, as after a crash) adds no row twice.
 */
@ExtendWith(VertxExtension.class)
class DatabaseReporterTest {

  @ParameterizedTest
  @ValueSource(strings = {"postgres", "mysql", "sqlite"})
  void rowsAreWrittenOnceEvenWhenARestartDeliversThemAgain(String driver, @TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    String table = unique("usage_" + driver).replace('-', '_');
    JsonObject reporter = new JsonObject().put("name", "db").put("type", "database").put("enabled", true)
        .put("database", new JsonObject().put("storage", "usage_db").put("table", table));
    JsonObject raw = usage(dir, reporter)
        .put("storage", new JsonObject().put("databases",
            new JsonArray().add(UsageTesting.database(driver, "usage_db", dir, "usage.db"))));
    GatewayConfig config = config(raw);
    Pools pools = new Pools(vertx, config.storage());
    SqlDatabase db = pools.database("usage_db");
    try {
      String first = deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 150; i++) {
        UsageRecord record = record("r-" + i, "sk-live-abcdefgh1234", null, "llama", 10, i);
        send(vertx, i == 7 ? record.withMetadata(new JsonObject().put("team", "blue"))
            : i == 8 ? record.withCutOff("quota_exceeded") : record);
      }
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> count(db, table, "*") == 150), "rows: " + count(db, table, "*"));
      vertx.undeploy(first).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

      // As if the process died after the inserts but before the cursor was saved: everything is delivered again.
      Path journalDir = dir.resolve("journal");
      assertEquals(151, Journal.peekCursor(journalDir, "reporter-db"));
      try (Journal journal = Journal.open(journalDir, Long.MAX_VALUE)) {
        journal.writeCursor("reporter-db", 1);
      }
      deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      for (int i = 150; i < 160; i++) {
        send(vertx, record("r-" + i, "sk-live-abcdefgh1234", null, "llama", 10, i));
      }
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> cursorValue(journalDir) == 161),
          "cursor " + cursorValue(journalDir));
      assertEquals(160, count(db, table, "*"));
      assertEquals(160, count(db, table, "DISTINCT request_id"));

      Row row = db.pool().query("SELECT request_id, api_key, user_id, method, path, backend_url, status_code,"
              + " latency_ms, prompt_tokens, completion_tokens, total_tokens, metadata, cut_off FROM " + table
              + " WHERE request_id = 'r-7'")
          .execute().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).iterator().next();
      assertEquals("sk-...1234", row.getString("api_key"));
      assertEquals("user-1", row.getString("user_id"));
      assertEquals("POST", row.getString("method"));
      assertEquals("/v1/chat/completions", row.getString("path"));
      assertEquals("http://backend:8000", row.getString("backend_url"));
      assertEquals(200, row.getInteger("status_code"));
      assertEquals(120, row.getLong("latency_ms"));
      assertEquals(10, row.getLong("prompt_tokens"));
      assertEquals(7, row.getLong("completion_tokens"));
      assertEquals(17, row.getLong("total_tokens"));
      assertEquals(new JsonObject().put("team", "blue"), new JsonObject(row.getValue("metadata").toString()),
          "the hooks' metadata, as JSON text");
      assertEquals(null, row.getValue("cut_off"), "an answer the gateway did not cut");
      Row cut = db.pool().query("SELECT cut_off FROM " + table + " WHERE request_id = 'r-8'")
          .execute().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).iterator().next();
      assertEquals("quota_exceeded", cut.getString("cut_off"), "auth.quota_enforcement: strict ended it early");
    } finally {
      db.pool().query("DROP TABLE IF EXISTS " + table).execute().toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      pools.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static long cursorValue(Path journalDir) {
    try {
      return Journal.peekCursor(journalDir, "reporter-db");
    } catch (Exception e) {
      return -1;
    }
  }

  private static long count(SqlDatabase db, String table, String what) {
    try {
      return db.pool().query("SELECT COUNT(" + what + ") FROM " + table).execute()
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).iterator().next().getLong(0);
    } catch (Exception e) {
      return -1;
    }
  }
}
