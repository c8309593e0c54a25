package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.freePort;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.usage;
import static dev.llmproxy.usage.UsageTesting.webhook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.usage.journal.Journal;
import dev.llmproxy.testsupport.FilesOnDisk;
import dev.llmproxy.usage.journal.JournalEntry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The verticle's side of the journal: a reply means the record is on disk; stopping flushes what was sent. */
@ExtendWith(VertxExtension.class)
class UsageJournalVerticleTest {

  @Test
  void repliesOnlyAfterTheRecordIsJournaledAndStopFlushesPlainSends(Vertx vertx, @TempDir Path dir) throws Exception {
    // A receiver that never answers: nothing is delivered, everything must stay in the journal.
    GatewayConfig config = config(usage(dir, webhook("billing", "http://127.0.0.1:" + freePort() + "/usage")));
    String id = deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    UsageRecordCodec.register(vertx.eventBus());
    List<Future<Message<Object>>> replies = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      replies.add(vertx.eventBus().request(Addresses.USAGE_RECORD, record("acked-" + i, "sk-test-0000000001", null,
          "m", 1, 2)));
    }
    List<Long> seqs = new ArrayList<>();
    for (Future<Message<Object>> reply : replies) {
      JsonObject body = (JsonObject) reply.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
      assertTrue(body.getBoolean("journaled"));
      seqs.add(body.getLong("seq"));
    }
    assertEquals(20, seqs.stream().distinct().count());
    // Every acknowledged record is in the files now, while the verticle still runs.
    List<JournalEntry> entries = Journal.readAll(dir.resolve("journal"));
    assertEquals(20, entries.size());
    assertEquals("acked-0", entries.get(0).record().getString("request_id"));
    JsonObject onDisk = entries.get(0).record();
    assertNull(onDisk.getValue("api_key"), "the raw key is not journaled");
    assertEquals("sk-...0001", onDisk.getString("api_key_masked"));
    assertEquals(KeyHash.sha256Hex("sk-test-0000000001"), onDisk.getString("key_hash"));
    assertEquals(KeyHash.keyId(KeyHash.sha256Hex("sk-test-0000000001")), onDisk.getString("key_id"));
    assertEquals("key-name", onDisk.getString("key_name"));
    assertEquals(List.of(), FilesOnDisk.containing(dir.resolve("journal"), "sk-test-0000000001"),
        "no file holds the raw key");
    for (int i = 0; i < 5; i++) {
      send(vertx, record("sent-" + i, "sk-test-0000000001", null, "m", 1, 2));
    }
    vertx.undeploy(id).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> ids = Journal.readAll(dir.resolve("journal")).stream()
        .map(e -> e.record().getString("request_id")).toList();
    assertEquals(25, ids.size(), ids.toString());
    assertEquals("sent-4", ids.get(24));
  }

  /**
   * A proxy event loop's batch is one message: journaled whole and in order, answered once (the first record's seq)
   * after its fsync; batches sent without a reply and the verticle stopped at once are on disk all the same.
   */
  @Test
  void aBatchIsJournaledWholeInOrderAndStopFlushesBatchesJustSent(Vertx vertx, @TempDir Path dir) throws Exception {
    GatewayConfig config = config(usage(dir, webhook("billing", "http://127.0.0.1:" + freePort() + "/usage")));
    String id = deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    UsageRecordCodec.register(vertx.eventBus());
    JsonObject reply = (JsonObject) vertx.eventBus().request(Addresses.USAGE_RECORD, batch("first", 50))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
    assertTrue(reply.getBoolean("journaled"));
    assertEquals(50, reply.getInteger("records"));
    List<JournalEntry> acknowledged = Journal.readAll(dir.resolve("journal"));
    assertEquals(50, acknowledged.size(), "all of the batch is on disk once it is answered");
    assertEquals(reply.getLong("seq"), acknowledged.get(0).seq());
    for (int b = 0; b < 3; b++) {
      vertx.eventBus().send(Addresses.USAGE_RECORD, batch("sent-" + b, 30));
    }
    vertx.undeploy(id).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> ids = Journal.readAll(dir.resolve("journal")).stream()
        .map(e -> e.record().getString("request_id")).toList();
    assertEquals(140, ids.size());
    assertEquals(140, ids.stream().distinct().count(), "no record twice");
    assertEquals("first-0", ids.get(0));
    assertEquals("first-49", ids.get(49));
    assertEquals("sent-0-0", ids.get(50));
    assertEquals("sent-2-29", ids.get(139));
  }

  private static UsageBatch batch(String prefix, int size) {
    List<UsageRecord> records = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      records.add(record(prefix + "-" + i, "sk-test-0000000001", null, "m", 1, 2));
    }
    return new UsageBatch(records);
  }

  @Test
  void aReporterScriptThatDoesNotCompileStopsTheStartAndNamesTheReporter(Vertx vertx, @TempDir Path dir)
      throws Exception {
    JsonObject broken = webhook("billing", "http://127.0.0.1:1/usage")
        .put("script", new JsonObject().put("enabled", true).put("script", "return {"));
    Throwable failure = deploy(vertx, config(usage(dir, broken)), new SimpleMeterRegistry())
        .toCompletionStage().toCompletableFuture().handle((id, e) -> e).get(10, TimeUnit.SECONDS);
    assertTrue(failure != null && failure.getMessage().contains("usage.reporters.billing.script"),
        String.valueOf(failure));
    // Nothing is left holding the journal: a correct config deploys on the same folder.
    deploy(vertx, config(usage(dir, webhook("billing", "http://127.0.0.1:1/usage"))), new SimpleMeterRegistry())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void withNothingToFeedThereIsNoJournal(Vertx vertx, @TempDir Path dir) throws Exception {
    GatewayConfig config = config(usage(dir));
    deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    UsageRecordCodec.register(vertx.eventBus());
    JsonObject reply = (JsonObject) vertx.eventBus().request(Addresses.USAGE_RECORD,
            record("r-1", "sk-test-0000000001", null, "m", 1, 2))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
    assertFalse(reply.getBoolean("journaled"));
    assertFalse(dir.resolve("journal").toFile().exists());
  }
}
