package dev.llmproxy.usage.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
class UsageJournalTest {

  @TempDir
  Path dir;

  private static UsageRecord record(int i) {
    return new UsageRecord("req-" + i, "sk-journal-key-" + i, null, null, null, "m", i, 1, i + 1, false, "POST",
        "/v1/chat/completions", Instant.parse("2026-11-22T07:00:00Z").plusSeconds(i), null, 200, 5, -1, false, false,
        "10.0.0.1");
  }

  /** Readers close behind the writer get the records themselves; after a restart the same records from disk. */
  @Test
  void freshRecordsAreReadFromMemoryAndTheSameOnesFromDiskAfterAReopen(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(start -> UsageJournal.open(vertx, dir, 1 << 20, () -> { })
        .compose(journal -> {
          List<Future<Long>> appended = new ArrayList<>();
          for (int i = 0; i < 10; i++) {
            appended.add(journal.append(record(i)));
          }
          return Future.all(appended).compose(all -> journal.read(3, 100))
              .compose(fresh -> {
                ctx.verify(() -> {
                  assertEquals(8, fresh.size());
                  assertEquals(3, fresh.get(0).seq());
                  assertNotNull(fresh.get(0).usage(), "served from memory, no JSON read back");
                  assertEquals(record(2), fresh.get(0).usageRecord());
                });
                return journal.close();
              });
        })
        .compose(closed -> UsageJournal.open(vertx, dir, 1 << 20, () -> { }))
        .compose(reopened -> reopened.read(3, 100).compose(fromDisk -> {
          ctx.verify(() -> {
            assertEquals(8, fromDisk.size());
            assertNull(fromDisk.get(0).usage(), "read from disk after the restart");
            assertEquals(record(2), fromDisk.get(0).usageRecord());
            assertEquals(record(9), fromDisk.get(7).usageRecord());
          });
          return reopened.close();
        }))
        .onComplete(ctx.succeedingThenComplete()));
  }
}
