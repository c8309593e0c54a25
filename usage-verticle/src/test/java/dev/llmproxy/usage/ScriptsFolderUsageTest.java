package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.usage;
import static dev.llmproxy.usage.UsageTesting.webhook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage reporter scripts of the top-level {@code scripts/} folder, loaded by path from the reporter that uses
 * each, run by the real usage verticle: {@code usage_filter.lua} on a webhook reporter, {@code usage_db.lua} on a
 * database reporter (SQLite).
 */
@ExtendWith(VertxExtension.class)
class ScriptsFolderUsageTest {

  private static JsonObject script(String file) {
    return new JsonObject().put("enabled", true).put("path", "../scripts/" + file);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static UsageRecord record(String id, String userId, int status, long prompt, long completion) {
    return new UsageRecord(id, "sk-live-abcdefgh1234", null, "key-name", userId, "llama", prompt, completion,
        prompt + completion, false, "POST", "/v1/chat/completions", Instant.parse("2026-01-14T10:30:00Z"),
        "http://backend:8000", status, 120, -1, false, false, "10.0.0.1");
  }

  @Test
  void usageFilterLuaBillsAnsweredRequestsWithACost(Vertx vertx, @TempDir Path dir) throws Exception {
    List<JsonObject> received = new CopyOnWriteArrayList<>();
    HttpServer receiver = await(vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      received.add(body.toJsonObject());
      request.response().end("ok");
    })).listen(0, "127.0.0.1"));
    JsonObject billing = webhook("billing", "http://127.0.0.1:" + receiver.actualPort() + "/usage")
        .put("script", script("usage_filter.lua"));
    await(deploy(vertx, config(usage(dir, billing)), new SimpleMeterRegistry()));

    send(vertx, record("failed", "user-1", 502, 7, 0));
    send(vertx, record("answered", "user-1", 200, 10, 5));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> !received.isEmpty()), "nothing reached the webhook");
    JsonObject billed = received.get(0);
    assertEquals("answered", billed.getString("request_id"), "the failed request was skipped: " + received);
    assertEquals(20L, billed.getLong("cost_micro_usd"), "10 prompt x 1 + 5 completion x 2");
    assertEquals("sk-...1234", billed.getString("api_key"));
  }

  @Test
  void usageDbLuaLeavesTokenlessRequestsOutAndNamesAnonymousUsers(Vertx vertx, @TempDir Path dir) throws Exception {
    JsonObject reporter = new JsonObject().put("name", "db_usage").put("type", "database").put("enabled", true)
        .put("database", new JsonObject().put("storage", "primary").put("table", "usage_records"))
        .put("script", script("usage_db.lua"));
    GatewayConfig config = config(usage(dir, reporter).put("storage", new JsonObject().put("databases",
        new JsonArray().add(UsageTesting.database("sqlite", "primary", dir, "usage.db")))));
    Pools pools = new Pools(vertx, config.storage());
    SqlDatabase db = pools.database("primary");
    try {
      await(deploy(vertx, config, new SimpleMeterRegistry()));
      send(vertx, record("no-tokens", "user-1", 404, 0, 0));
      send(vertx, record("anonymous", null, 200, 3, 4));
      send(vertx, record("known", "user-1", 200, 3, 4));
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> rows(db).size() >= 2), "rows: " + rows(db));
      List<String> rows = rows(db);
      assertEquals(List.of("anonymous:anonymous", "known:user-1"), rows, "no row for the request without tokens");
    } finally {
      pools.close();
    }
  }

  private static List<String> rows(SqlDatabase db) {
    List<String> rows = new ArrayList<>();
    try {
      for (Row row : await(db.pool().query("SELECT request_id, user_id FROM usage_records ORDER BY request_id")
          .execute())) {
        rows.add(row.getString("request_id") + ":" + row.getString("user_id"));
      }
    } catch (Exception noTableYet) {
      return List.of();
    }
    return rows;
  }
}
