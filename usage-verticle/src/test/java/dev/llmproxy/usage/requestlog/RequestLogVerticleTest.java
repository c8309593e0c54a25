package dev.llmproxy.usage.requestlog;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request log's consumer against real databases: rows as the proxy's messages describe them. */
@ExtendWith(VertxExtension.class)
class RequestLogVerticleTest {

  private final String table = "request_logs_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  private final List<Runnable> cleanup = new ArrayList<>();

  @AfterEach
  void clean() {
    cleanup.forEach(Runnable::run);
  }

  @Test
  void sqliteRowsInBatchesInATableItCreates(Vertx vertx, @TempDir Path dir) {
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "sqlite").put("path", dir.resolve("logs.db").toString());
    rowsArriveWithEveryColumn(vertx, db);
  }

  /** No object handed over: deployed from its deployment's JSON config alone, as by class name. */
  @Test
  void sqliteRowsFromAVerticleDeployedWithItsJsonConfigOnly(Vertx vertx, @TempDir Path dir) {
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "sqlite").put("path", dir.resolve("logs.db").toString());
    GatewayConfig config = config(db, new JsonObject().put("storage", "logs").put("table", table));
    SqlDatabase reader = database(vertx, config);
    await(vertx.deployVerticle(() -> new RequestLogVerticle(),
        new io.vertx.core.DeploymentOptions().setConfig(config.toJson())));
    vertx.eventBus().send(Addresses.REQUEST_LOG, message("req-json", "mock"));
    assertTrue(Poll.until(Duration.ofSeconds(15), () -> count(reader) == 1), "rows: " + count(reader));
  }

  @Test
  void postgresRows(Vertx vertx) {
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "postgres").put("host", "127.0.0.1").put("port", 5432)
        .put("user", "postgres").put("database", "test");
    rowsArriveWithEveryColumn(vertx, db);
  }

  @Test
  void mariadbRows(Vertx vertx) {
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "mysql").put("host", "127.0.0.1").put("port", 3306)
        .put("user", "root").put("password", "").put("database", "test");
    rowsArriveWithEveryColumn(vertx, db);
  }

  private void rowsArriveWithEveryColumn(Vertx vertx, JsonObject db) {
    GatewayConfig config = config(db, new JsonObject().put("storage", "logs").put("table", table));
    SqlDatabase reader = database(vertx, config);
    await(vertx.deployVerticle(new RequestLogVerticle(config)));

    // More than one batch, so that a full batch goes at once and the rest with the timer.
    int count = RequestLogVerticle.BATCH_SIZE + 30;
    for (int i = 0; i < count; i++) {
      vertx.eventBus().send(Addresses.REQUEST_LOG, message("req-" + i, "mock"));
    }
    assertTrue(Poll.until(Duration.ofSeconds(15), () -> count(reader) == count), "rows: " + count(reader));

    Row row = await(reader.pool().query("SELECT * FROM " + table + " WHERE request_id = 'req-7'").execute()).iterator().next();
    assertEquals("10.1.2.3", row.getString("client_ip"));
    assertEquals("POST", row.getString("method"));
    assertEquals("/v1/chat/completions", row.getString("path"));
    assertEquals("sk-...cdef", row.getString("api_key"));
    assertEquals("Bearer ...cdef", new JsonObject(row.getString("headers")).getString("authorization"));
    assertEquals("{\"model\":\"mock\"}", row.getString("request_body"));
    assertEquals("data: [DONE]\n\n", row.getString("response_body"));
    assertEquals(200, row.getInteger("status_code"));
    assertEquals(42L, row.getLong("latency_ms"));
    assertEquals("http://127.0.0.1:8000", row.getString("backend_url"));
    assertEquals("user_7", row.getString("user_id"));
    assertEquals("mock", row.getString("model"));
    // A boolean on PostgreSQL, 1 in MariaDB's TINYINT(1) and SQLite's integer affinity.
    assertTrue(List.of("true", "1").contains(String.valueOf(row.getValue("is_stream"))), String.valueOf(row.getValue("is_stream")));
    assertEquals(null, row.getValue("error"));
    assertTrue(row.getValue("timestamp").toString().startsWith("2026-11-22"), row.getValue("timestamp").toString());
    assertTrue(row.getLong("id") > 0);
  }

  @Test
  void rowsStillWaitingAreWrittenAtStop(Vertx vertx, @TempDir Path dir) throws Exception {
    LinkedBlockingQueue<String> lines = captureFileLines();
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "sqlite").put("path", dir.resolve("logs.db").toString());
    GatewayConfig config = config(db, new JsonObject().put("storage", "logs").put("table", table)
        .put("file", new JsonObject().put("path", "requests.log")));
    SqlDatabase reader = database(vertx, config);
    // No timer flush during the test: what reaches the table is what stop writes.
    String id = await(vertx.deployVerticle(new RequestLogVerticle(config, 600_000)));

    for (int i = 0; i < 5; i++) {
      vertx.eventBus().send(Addresses.REQUEST_LOG, message("stop-" + i, "mock"));
    }
    // The file line is written as a message arrives: once there are 5, all 5 rows are waiting for their batch.
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> lines.size() == 5));
    await(vertx.undeploy(id));
    assertEquals(5, count(reader));
  }

  @Test
  void theScriptSkipsRows(Vertx vertx, @TempDir Path dir) {
    JsonObject db = new JsonObject().put("name", "logs").put("driver", "sqlite").put("path", dir.resolve("logs.db").toString());
    GatewayConfig config = config(db, new JsonObject().put("storage", "logs").put("table", table)
        .put("script", new JsonObject().put("enabled", true).put("script", "return entry.model ~= 'secret-model'")));
    SqlDatabase reader = database(vertx, config);
    await(vertx.deployVerticle(new RequestLogVerticle(config)));

    vertx.eventBus().send(Addresses.REQUEST_LOG, message("skipped", "secret-model"));
    vertx.eventBus().send(Addresses.REQUEST_LOG, message("kept", "mock"));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> count(reader) >= 1));
    RowSet<Row> rows = await(reader.pool().query("SELECT request_id FROM " + table).execute());
    assertEquals(1, rows.size());
    assertEquals("kept", rows.iterator().next().getString("request_id"));
  }

  @Test
  void fileLinesAreTheMessagesAsJson(Vertx vertx) throws Exception {
    LinkedBlockingQueue<String> lines = captureFileLines();
    GatewayConfig config = config(null, new JsonObject().put("file", new JsonObject().put("path", "requests.log"))
        .put("script", new JsonObject().put("enabled", true)
            .put("script", "function process(ctx, log) return { skip = ctx.request.path == '/v1/embeddings' } end")));
    await(vertx.deployVerticle(new RequestLogVerticle(config)));

    JsonObject skipped = message("r0", "mock").put("path", "/v1/embeddings");
    JsonObject sent = message("r1", "mock");
    vertx.eventBus().send(Addresses.REQUEST_LOG, skipped);
    vertx.eventBus().send(Addresses.REQUEST_LOG, sent);
    String line = lines.poll(5, TimeUnit.SECONDS);
    assertEquals(sent, new JsonObject(line));
    assertFalse(lines.stream().anyMatch(l -> l.contains("embeddings")));
  }

  /** scripts/log_filter.lua, seed 001's example, loaded by path as logging.request.script names it. */
  @Test
  void theScriptsFolderLogFilterSkipsHealthChecksAndTheInternalNetwork(Vertx vertx) throws Exception {
    LinkedBlockingQueue<String> lines = captureFileLines();
    GatewayConfig config = config(null, new JsonObject().put("file", new JsonObject().put("path", "requests.log"))
        .put("script", new JsonObject().put("enabled", true).put("path", "../scripts/log_filter.lua")));
    await(vertx.deployVerticle(new RequestLogVerticle(config)));

    vertx.eventBus().send(Addresses.REQUEST_LOG, message("health", "mock").put("path", "/health")
        .put("client_ip", "192.168.1.9"));
    vertx.eventBus().send(Addresses.REQUEST_LOG, message("internal", "mock")); // from 10.1.2.3
    JsonObject kept = message("outside", "mock").put("client_ip", "192.168.1.9");
    vertx.eventBus().send(Addresses.REQUEST_LOG, kept);
    assertEquals(kept, new JsonObject(lines.poll(5, TimeUnit.SECONDS)), "the first line is the one kept");
    assertTrue(lines.isEmpty(), "nothing else: " + lines);
  }

  /** Seed 001's {@code storage: stdout}: the same JSON lines, which the launcher's log setup sends to stdout. */
  @Test
  void stdoutAloneWritesTheLines(Vertx vertx) throws Exception {
    LinkedBlockingQueue<String> lines = captureFileLines();
    GatewayConfig config = config(null, new JsonObject().put("storage", "stdout"));
    await(vertx.deployVerticle(new RequestLogVerticle(config)));
    JsonObject sent = message("r3", "mock");
    vertx.eventBus().send(Addresses.REQUEST_LOG, sent);
    assertEquals(sent, new JsonObject(lines.poll(5, TimeUnit.SECONDS)));
  }

  private LinkedBlockingQueue<String> captureFileLines() {
    LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        lines.add(event.getFormattedMessage());
      }
    };
    capture.start();
    Logger fileLogger = (Logger) LoggerFactory.getLogger(RequestLogVerticle.FILE_LOGGER);
    fileLogger.addAppender(capture);
    cleanup.add(() -> fileLogger.detachAppender(capture));
    return lines;
  }

  private GatewayConfig config(JsonObject database, JsonObject request) {
    JsonObject raw = new JsonObject()
        .put("backends", new JsonArray().add(new JsonObject().put("name", "b").put("url", "http://127.0.0.1:1")))
        .put("logging", new JsonObject().put("enabled", true).put("request", request.put("enabled", true)));
    if (database != null) {
      raw.put("storage", new JsonObject().put("databases", new JsonArray().add(database)));
    }
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    return loaded.config();
  }

  private SqlDatabase database(Vertx vertx, GatewayConfig config) {
    Pools pools = new Pools(vertx, config.storage());
    SqlDatabase database = pools.database("logs");
    cleanup.add(() -> {
      database.pool().query("DROP TABLE IF EXISTS " + table).execute()
          .transform(ar -> pools.close()).toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
    });
    return database;
  }

  private long count(SqlDatabase database) {
    try {
      return await(database.pool().query("SELECT COUNT(*) AS n FROM " + table).execute()).iterator().next().getLong("n");
    } catch (RuntimeException noTableYet) {
      return -1;
    }
  }

  /** What the proxy sends for one streamed chat completion. */
  private static JsonObject message(String requestId, String model) {
    return new JsonObject()
        .put("request_id", requestId)
        .put("timestamp", "2026-11-22T06:07:52.123Z")
        .put("client_ip", "10.1.2.3")
        .put("method", "POST")
        .put("path", "/v1/chat/completions")
        .put("headers", new JsonObject().put("authorization", "Bearer ...cdef").put("user-agent", "test"))
        .put("request_body", "{\"model\":\"" + model + "\"}")
        .put("response_body", "data: [DONE]\n\n")
        .put("status_code", 200)
        .put("latency_ms", 42)
        .put("backend_url", "http://127.0.0.1:8000")
        .put("api_key", "sk-...cdef")
        .put("key_id", "id-1")
        .put("key_name", "Team key")
        .put("user_id", "user_7")
        .put("model", model)
        .put("is_stream", true)
        .putNull("error");
  }

  private static <T> T await(Future<T> future) {
    return future.toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
  }
}
