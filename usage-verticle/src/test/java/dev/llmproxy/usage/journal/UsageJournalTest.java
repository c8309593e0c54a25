package dev.llmproxy.usage.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.model.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.llmproxy.testsupport.FilesOnDisk;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

  /**
   * Readers close behind the writer get the records themselves; after a reopen the same records from disk (the raw
   * keys from the memory of keys seen, as within one run of the gateway).
   */
  @Test
  void freshRecordsAreReadFromMemoryAndTheSameOnesFromDiskAfterAReopen(Vertx vertx, VertxTestContext ctx) {
    JournalKeys keys = JournalKeys.inMemory();
    vertx.runOnContext(start -> UsageJournal.open(vertx, dir, 1 << 20, Duration.ofMillis(2), () -> { }, keys)
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
        .compose(closed -> UsageJournal.open(vertx, dir, 1 << 20, Duration.ofMillis(2), () -> { }, keys))
        .compose(reopened -> reopened.read(3, 100).compose(fromDisk -> {
          ctx.verify(() -> {
            assertEquals(8, fromDisk.size());
            assertTrue(fromDisk.get(0).fromDisk(), "read from disk after the restart");
            assertEquals(record(2), fromDisk.get(0).usageRecord());
            assertEquals(record(9), fromDisk.get(7).usageRecord());
          });
          return reopened.close();
        }))
        .onComplete(ctx.succeedingThenComplete()));
  }

  /**
   * No raw key rests on disk. Without {@code LLMPROXY_JOURNAL_KEY} a restart (a new memory) gets the records back
   * with the key's hash and masked form but not the raw key; with it, the raw key comes back from its sealed form,
   * and only under the same secret.
   */
  @Test
  void rawKeysRestOnDiskOnlySealedAndComeBackOnlyWithTheSecret(Vertx vertx, VertxTestContext ctx) {
    Map<String, String> env = Map.of(JournalKeys.ENV, "a-journal-secret-of-32-characters");
    Path plain = dir.resolve("plain");
    Path sealed = dir.resolve("sealed");
    vertx.runOnContext(start -> appendAndReopen(vertx, plain, JournalKeys.inMemory(), JournalKeys.inMemory())
        .compose(lost -> appendAndReopen(vertx, sealed, JournalKeys.fromEnvironment(env),
            JournalKeys.fromEnvironment(env)).map(kept -> List.of(lost, kept)))
        .compose(two -> appendAndReopen(vertx, dir.resolve("other"), JournalKeys.fromEnvironment(env),
            JournalKeys.fromEnvironment(Map.of(JournalKeys.ENV, "another-secret-of-32-characters!")))
            .map(other -> List.of(two.get(0), two.get(1), other)))
        .onComplete(ctx.succeeding(read -> ctx.verify(() -> {
          UsageRecord lost = read.get(0);
          assertNull(lost.apiKey(), "a new memory does not know the raw key");
          assertEquals(record(0).keyHash(), lost.keyHash());
          assertEquals("sk-...ey-0", lost.maskedKey());
          assertEquals(record(0), read.get(1), "sealed with the secret, opened with it");
          assertNull(read.get(2).apiKey(), "another secret does not open it");
          for (Path journal : List.of(plain, sealed)) {
            assertEquals(List.of(), FilesOnDisk.containing(journal, "sk-journal-key-0"), journal.toString());
          }
          ctx.completeNow();
        }))));
  }

  private Future<UsageRecord> appendAndReopen(Vertx vertx, Path at, JournalKeys writing, JournalKeys reading) {
    return UsageJournal.open(vertx, at, 1 << 20, Duration.ofMillis(2), () -> { }, writing)
        .compose(journal -> journal.append(record(0)).compose(seq -> journal.close()))
        .compose(closed -> UsageJournal.open(vertx, at, 1 << 20, Duration.ofMillis(2), () -> { }, reading))
        .compose(reopened -> reopened.read(1, 1).compose(entries -> reopened.close()
            .map(entries.get(0).usageRecord())));
  }

  /**
   * A record every 2 ms for 200 ms with a 40 ms fsync interval: every record is durable, in at most one group
   * per interval (about 5, 7 allowing for timer slack) where one group per arrival would make about 100.
   */
  @Test
  void recordsArrivingCloseTogetherShareOneFsyncPerInterval(Vertx vertx, VertxTestContext ctx) {
    AtomicInteger groups = new AtomicInteger();
    vertx.runOnContext(start -> UsageJournal.open(vertx, dir, 1 << 20, Duration.ofMillis(40), groups::incrementAndGet)
        .compose(journal -> {
          List<Future<Long>> appended = new ArrayList<>();
          Promise<Void> sent = Promise.promise();
          long started = System.nanoTime();
          vertx.setPeriodic(2, timer -> {
            appended.add(journal.append(record(appended.size())));
            if (System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(200)) {
              vertx.cancelTimer(timer);
              sent.complete();
            }
          });
          return sent.future().compose(v -> Future.all(appended)).compose(all -> {
            ctx.verify(() -> {
              assertEquals(appended.size(), journal.committed() - 1, "every record durable");
              assertTrue(groups.get() >= 2 && groups.get() <= 7,
                  groups.get() + " groups for " + appended.size() + " records");
            });
            return journal.close();
          });
        })
        .onComplete(ctx.succeedingThenComplete()));
  }

  /** Records every reader has passed leave memory at once (held until a young collection, they are promoted). */
  @Test
  void recordsEveryReaderPassedAreNoLongerHeldInMemory(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(start -> UsageJournal.open(vertx, dir, 1 << 20, Duration.ofMillis(2), () -> { })
        .compose(journal -> {
          List<Future<Long>> appended = new ArrayList<>();
          for (int i = 0; i < 10; i++) {
            appended.add(journal.append(record(i)));
          }
          return Future.all(appended)
              .compose(all -> journal.saveCursor("only-reader", 6, 6))
              .compose(saved -> journal.read(6, 100).compose(unread -> journal.read(3, 2).map(passed -> {
                ctx.verify(() -> {
                  assertEquals(5, unread.size());
                  assertNotNull(unread.get(0).usage(), "not yet passed: still in memory");
                  assertEquals(2, passed.size());
                  assertTrue(passed.get(0).fromDisk(), "passed by every reader: read back from disk");
                  assertEquals(record(2), passed.get(0).usageRecord());
                });
                return journal;
              })))
              .compose(UsageJournal::close);
        })
        .onComplete(ctx.succeedingThenComplete()));
  }
}
