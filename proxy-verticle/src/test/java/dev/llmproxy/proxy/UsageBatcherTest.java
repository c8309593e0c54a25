package dev.llmproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The records of one event-loop turn go to the usage verticle as one message; none waits longer, none is lost. */
@ExtendWith(VertxExtension.class)
class UsageBatcherTest {

  private static UsageRecord record(String id) {
    return new UsageRecord(id, null, null, null, null, "m", 1, 2, 3, false, "POST", "/v1/chat/completions",
        Instant.now(), null, 200, 1, -1, false, false, "127.0.0.1");
  }

  @Test
  void aTurnsRecordsGoInOneMessageAndAFullBatchAtOnce(Vertx vertx, VertxTestContext ctx) throws Exception {
    UsageRecordCodec.register(vertx.eventBus());
    List<List<String>> messages = new CopyOnWriteArrayList<>();
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, m -> {
      messages.add(UsageBatch.of(m.body()).stream().map(UsageRecord::requestId).toList());
      int records = messages.stream().mapToInt(List::size).sum();
      if (records == 3 + UsageBatcher.MAX_BATCH + 1 + 2) {
        ctx.verify(() -> {
          assertEquals(List.of("a", "b", "c"), messages.get(0), "one turn, one message");
          assertEquals(UsageBatcher.MAX_BATCH, messages.get(1).size(), "a full batch goes at once");
          assertEquals(List.of("last"), messages.get(2), "the rest of that turn, in order");
          assertEquals(List.of("x", "y"), messages.get(3), "flushed when the instance closes");
          assertEquals(4, messages.size());
        });
        ctx.completeNow();
      }
    });
    Context context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      UsageBatcher batcher = new UsageBatcher(vertx, context, () -> UsageRoute.USAGE_VERTICLE);
      batcher.add(record("a"));
      batcher.add(record("b"));
      batcher.add(record("c"));
      context.runOnContext(next -> {
        for (int i = 0; i < UsageBatcher.MAX_BATCH; i++) {
          batcher.add(record("full-" + i));
        }
        batcher.add(record("last"));
        context.runOnContext(after -> {
          batcher.add(record("x"));
          batcher.add(record("y"));
          batcher.flush();
        });
      });
    });
    ctx.awaitCompletion(10, TimeUnit.SECONDS);
    if (ctx.failed()) {
      throw new AssertionError(ctx.causeOfFailure());
    }
  }
}
