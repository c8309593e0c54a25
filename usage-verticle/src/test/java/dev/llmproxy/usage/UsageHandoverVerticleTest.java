package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy member's side of usage in a cluster: records sent while no usage verticle answers wait in the hand-over's
 * journal (across its restart), up to {@code max_records}, the rest refused and counted; once a usage verticle
 * answers they arrive in order, each once, with the raw key they were sent with.
 */
@ExtendWith(VertxExtension.class)
class UsageHandoverVerticleTest {

  @Test
  void recordsWaitBoundedOnDiskAndArriveInOrderOnceAUsageVerticleAnswers(Vertx vertx, @TempDir Path dir)
      throws Exception {
    GatewayConfig config = config(new JsonObject()
        .put("usage", new JsonObject().put("journal_path", dir.resolve("usage").toString()))
        .put("cluster", new JsonObject().put("enabled", true).put("roles", new JsonArray().add("proxy"))
            .put("usage_handover", new JsonObject().put("journal_path", dir.resolve("handover").toString())
                .put("max_records", 3).put("ack_timeout", "2s"))));
    UsageRecordCodec.register(vertx.eventBus());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    String first = deploy(vertx, config, registry);

    // No usage verticle anywhere: three records are kept, the fourth and fifth refused and counted.
    for (int i = 1; i <= 5; i++) {
      handOver(vertx, record("kept-" + i, "sk-handover-000" + i, "static", "m", 1, 2));
    }
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> dropped(registry) == 2), "dropped " + dropped(registry));
    assertEquals(3.0, registry.get("llmproxy_usage_handover_backlog").gauge().value());

    // The proxy member restarts: what it kept is still there.
    vertx.undeploy(first).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    SimpleMeterRegistry again = new SimpleMeterRegistry();
    deploy(vertx, config, again);
    assertEquals(3.0, again.get("llmproxy_usage_handover_backlog").gauge().value());

    // A usage verticle appears: the first answer is lost (a timeout), then everything is acknowledged.
    List<UsageRecord> received = new CopyOnWriteArrayList<>();
    boolean[] answered = {false};
    vertx.eventBus().<UsageRecord>consumer(Addresses.USAGE_RECORD, message -> {
      received.add(message.body());
      if (!answered[0] && received.size() == 1) {
        return; // never answered: the hand-over must send it again
      }
      answered[0] = true;
      message.reply(new JsonObject().put("journaled", true));
    });
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> again.get("llmproxy_usage_handover_backlog").gauge().value() == 0),
        "backlog " + again.get("llmproxy_usage_handover_backlog").gauge().value());
    List<String> ids = received.stream().map(UsageRecord::requestId).toList();
    // The delivery whose first answer never came is sent again whole, in journal order; a usage member that gets a
    // record twice stores it once (request_id). The last delivery, the one acknowledged, is the three in order.
    assertEquals(List.of("kept-1", "kept-2", "kept-3"), ids.subList(ids.size() - 3, ids.size()), "" + ids);
    assertEquals(List.of("kept-1", "kept-2", "kept-3"), ids.stream().distinct().sorted().toList(), "" + ids);
    assertTrue(ids.size() > 3, "the unanswered record was sent again: " + ids);
    assertEquals("sk-handover-0002", received.stream().filter(r -> r.requestId().equals("kept-2")).findFirst()
        .orElseThrow().apiKey(), "the raw key, sealed in the journal (LLMPROXY_JOURNAL_KEY) across the restart, crosses to the usage member");

    // New records go straight through while a usage verticle answers.
    handOver(vertx, record("later-1", "sk-handover-0009", "static", "m", 1, 2));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> received.stream().anyMatch(r -> r.requestId().equals("later-1"))));
  }

  private static String deploy(Vertx vertx, GatewayConfig config, SimpleMeterRegistry registry) throws Exception {
    dev.llmproxy.common.verticle.JvmResources.of(vertx).put(io.micrometer.core.instrument.MeterRegistry.class, registry);
    return vertx.deployVerticle(() -> new UsageHandoverVerticle(config, UsageTesting.SEALING), new DeploymentOptions())
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static void handOver(Vertx vertx, UsageRecord record) {
    vertx.eventBus().send(Addresses.USAGE_HANDOVER, record, new DeliveryOptions().setLocalOnly(true));
  }

  private static double dropped(SimpleMeterRegistry registry) {
    return registry.get("llmproxy_usage_handover_dropped").tag("reason", "full").counter().count();
  }
}
