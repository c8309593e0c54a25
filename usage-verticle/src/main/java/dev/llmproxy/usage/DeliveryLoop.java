package dev.llmproxy.usage;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.usage.journal.JournalEntry;
import dev.llmproxy.usage.journal.UsageJournal;
import dev.llmproxy.usage.reporter.Outgoing;
import dev.llmproxy.usage.reporter.Reporter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.AbstractList;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one reporter from the journal with its own cursor: reads what is durable, in order, in groups of the
 * reporter's batch size; saves the cursor after each delivered group; on failure waits (exponential backoff,
 * capped) and tries the same records again, for as long as it takes. Runs on the usage verticle's event loop.
 */
final class DeliveryLoop {

  private static final Logger LOG = LoggerFactory.getLogger(DeliveryLoop.class);
  private static final int READ_MAX = 500;
  /**
   * After a delivery that emptied the backlog, the loop waits this long for more before the next one: at a steady
   * rate that makes one reporter commit (and one cursor save) per pause instead of one per journal group, each of
   * them a round of thread hand-overs and, for databases, a commit of their own.
   */
  static final long PAUSE_MS = 25;

  private final Vertx vertx;
  private final UsageJournal journal;
  private final Reporter reporter;
  private final String cursorName;
  private final RecordScript script;
  private final long firstBackoffMs;
  private final long maxBackoffMs;
  private final LongSupplier lowestCursor;
  private volatile long cursor;
  /** The highest cursor handed to the journal to save. */
  private long savedUpTo;
  private boolean progressSaving;
  private boolean busy;
  private boolean stopped;
  private int failures;
  private long retryTimer = -1;
  private long pauseTimer = -1;
  /** The delivery under way, cursor save included; stop waits for it so that what was delivered is not sent again. */
  private Future<Integer> delivering = Future.succeededFuture(0);

  /**
   * @param cursorName   the file name of its cursor in the journal folder
   * @param script       null when the reporter has none
   * @param lowestCursor the lowest cursor over all loops, read after this one moved (for compaction)
   */
  DeliveryLoop(Vertx vertx, UsageJournal journal, Reporter reporter, String cursorName, RecordScript script, long cursor,
      long firstBackoffMs, long maxBackoffMs, LongSupplier lowestCursor) {
    this.vertx = vertx;
    this.journal = journal;
    this.reporter = reporter;
    this.cursorName = cursorName;
    this.script = script;
    this.cursor = cursor;
    this.savedUpTo = cursor;
    this.firstBackoffMs = firstBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.lowestCursor = lowestCursor;
  }

  String name() {
    return reporter.name();
  }

  long cursor() {
    return cursor;
  }

  /** Records durable in the journal and not yet delivered. */
  long backlog() {
    return Math.max(0, journal.committed() - cursor);
  }

  /** New records are durable (or the loop is started): deliver them unless already at work or backing off. */
  void wake() {
    if (stopped || busy || retryTimer >= 0 || pauseTimer >= 0 || cursor >= journal.committed()) {
      return;
    }
    busy = true;
    delivering = journal.read(cursor, READ_MAX)
        .compose(entries -> deliverGroups(entries).map(entries.size()));
    delivering.onComplete(ar -> {
      busy = false;
      if (stopped) {
        return;
      }
      if (ar.succeeded()) {
        failures = 0;
        if (ar.result() < READ_MAX) {
          pauseTimer = vertx.setTimer(PAUSE_MS, t -> {
            pauseTimer = -1;
            wake();
          });
        } else {
          wake();
        }
      } else {
        failures++;
        long delay = Math.min(maxBackoffMs, firstBackoffMs << Math.min(20, failures - 1));
        LOG.warn("usage reporter {}: delivery from record {} failed ({} in a row), next try in {} ms: {}",
            reporter.name(), cursor, failures, delay, ar.cause().getMessage());
        retryTimer = vertx.setTimer(delay, t -> {
          retryTimer = -1;
          wake();
        });
      }
    });
  }

  private Future<Void> deliverGroups(List<JournalEntry> entries) {
    Future<Void> chain = Future.succeededFuture();
    for (int from = 0; from < entries.size(); from += reporter.maxBatch()) {
      List<JournalEntry> group = entries.subList(from, Math.min(entries.size(), from + reporter.maxBatch()));
      chain = chain.compose(v -> stopped ? Future.failedFuture("stopped") : deliver(group));
    }
    return chain;
  }

  private Future<Void> deliver(List<JournalEntry> group) {
    // Made when the reporter asks for them: a webhook holds only the records on their way, not the whole group.
    List<Outgoing> records = new AbstractList<>() {
      @Override
      public Outgoing get(int index) {
        UsageRecord record = group.get(index).usageRecord();
        if (script == null) {
          return Outgoing.of(record);
        }
        JsonObject payload = script.apply(reporter.payload(record));
        return payload == null ? null : new Outgoing(record, payload);
      }

      @Override
      public int size() {
        return group.size();
      }
    };
    long next = group.get(group.size() - 1).seq() + 1;
    Future<Void> delivered = reporter.deliver(records, count -> advance(group.get(count - 1).seq() + 1));
    return delivered.compose(v -> {
      cursor = next;
      return save(next);
    });
  }

  /** Part of a delivery has arrived: the cursor follows, saved as often as the reader thread keeps up with. */
  private void advance(long next) {
    cursor = Math.max(cursor, next);
    saveProgress();
  }

  /** One progress save at a time; when it ends, the cursor reached meanwhile (if further) is saved next. */
  private void saveProgress() {
    if (progressSaving || cursor <= savedUpTo) {
      return;
    }
    progressSaving = true;
    save(cursor).onComplete(ar -> {
      progressSaving = false;
      saveProgress();
    });
  }

  /** Saves are queued in order on the journal's reader thread; a lower cursor is never written after a higher. */
  private Future<Void> save(long next) {
    if (next <= savedUpTo) {
      return Future.succeededFuture();
    }
    savedUpTo = next;
    return journal.saveCursor(cursorName, next, lowestCursor.getAsLong());
  }

  /** Stops taking new work; completes when the delivery under way (if any) has ended, at most {@code waitMs} later. */
  Future<Void> stop(long waitMs) {
    stopped = true;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
      retryTimer = -1;
    }
    if (pauseTimer >= 0) {
      vertx.cancelTimer(pauseTimer);
      pauseTimer = -1;
    }
    Promise<Void> ended = Promise.promise();
    long timer = vertx.setTimer(waitMs, t -> ended.tryComplete());
    delivering.onComplete(ar -> {
      vertx.cancelTimer(timer);
      ended.tryComplete();
    });
    return ended.future();
  }
}
