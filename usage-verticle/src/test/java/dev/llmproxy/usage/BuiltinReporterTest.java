package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.usage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The builtin reporter's messages to the admin store. The admin verticle's consumer is built elsewhere, so a stub
 * consumer stands in for it here: it refuses the first batches (as a store that is busy or not there yet), then
 * stores; every record must arrive, in order, as UsageRecord JSON.
 */
@ExtendWith(VertxExtension.class)
class BuiltinReporterTest {

  @Test
  void batchesReachTheAdminStoreAfterItRefusedThemForAWhile(Vertx vertx, @TempDir Path dir) throws Exception {
    List<String> stored = new CopyOnWriteArrayList<>();
    AtomicInteger refusals = new AtomicInteger(2);
    vertx.eventBus().<JsonObject>consumer(Addresses.USAGE_STORE, message -> {
      if (refusals.getAndDecrement() > 0) {
        message.fail(503, "store busy");
        return;
      }
      message.body().getJsonArray("records").forEach(r -> stored.add(UsageRecord.fromJson((JsonObject) r).requestId()));
      message.reply(new JsonObject().put("stored", message.body().getJsonArray("records").size()));
    });
    JsonObject builtin = new JsonObject().put("name", "local").put("type", "builtin").put("enabled", true)
        .put("builtin", new JsonObject().put("retention_days", 30));
    // builtin requires admin (seed 000): its config only, the consumer above stands in for the admin store
    deploy(vertx, config(usage(dir, builtin).put("admin", new JsonObject().put("enabled", true).put("token", "t"))),
        new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 250; i++) {
      sent.add("b-" + i);
      send(vertx, record("b-" + i, "sk-live-abcdefgh1234", "local", "m", 1, 1));
    }
    assertTrue(Poll.until(Duration.ofSeconds(20), () -> stored.size() >= 250), "stored " + stored.size());
    assertEquals(sent, stored);
    assertTrue(refusals.get() < 0);
  }
}
