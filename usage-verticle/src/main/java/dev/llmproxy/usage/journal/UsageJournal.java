package dev.llmproxy.usage.journal;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import dev.llmproxy.common.model.UsageRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The journal as the usage verticle uses it, from its event loop. Appends are buffered and written with one fsync
 * per group (group commit), at most one group per fsync interval, each append's future completing only after that
 * fsync. An fsync costs the same whatever it carries (about 0.4 ms of kernel time on the 2-core test machine):
 * grouping by time rather than by arrival keeps the cost of durability flat as the request rate grows. File work
 * never runs on the event loop: appends on a writer thread of their own, reads, cursors and compaction on a reader
 * thread, so that deliveries never delay an acknowledgement.
 */
public final class UsageJournal {

  /** Upper bound of one group, so one write stays short. */
  private static final int MAX_GROUP = 2000;

  /**
   * At most this many records kept in memory once durable and not yet passed by every reader, so that readers
   * close behind the writer never touch the disk.
   */
  private static final int TAIL_MAX = 5_000;

  /** Records appended together (one, or a proxy's batch): their future completes with the first one's seq. */
  private record Pending(List<UsageRecord> records, Promise<Long> appended) {
  }

  private final Vertx vertx;
  private final WorkerExecutor writer;
  private final WorkerExecutor reader;
  private final Journal journal;
  private final Runnable onCommit;
  private final JournalKeys keys;
  private final long fsyncIntervalMs;
  /** When the last group's write began, in {@link System#nanoTime()}. */
  private long lastWriteNanos;
  private List<Pending> pending = new ArrayList<>();
  /** The records of {@link #pending}. */
  private int pendingRecords;
  private boolean writing;
  private long lingerTimer = -1;
  private volatile long committed;
  /** Records appended and not yet durable (written by the event loop, read by metrics). */
  private volatile int notDurable;
  private Future<Void> lastWrite = Future.succeededFuture();
  /** The last durable records, oldest first, with consecutive seqs; touched only on the verticle's context. */
  private final ArrayDeque<JournalEntry> tail = new ArrayDeque<>();

  private UsageJournal(Vertx vertx, WorkerExecutor writer, WorkerExecutor reader, Journal journal,
      Duration fsyncInterval, Runnable onCommit, JournalKeys keys) {
    this.keys = keys;
    this.vertx = vertx;
    this.fsyncIntervalMs = Math.max(1, fsyncInterval.toMillis());
    this.lastWriteNanos = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(fsyncIntervalMs);
    this.writer = writer;
    this.reader = reader;
    this.journal = journal;
    this.onCommit = onCommit;
    this.committed = journal.nextSeq();
  }

  /**
   * Opens the journal in {@code dir}.
   *
   * @param fsyncInterval at most one group is written (and fsynced) per interval
   * @param onCommit run on the caller's context after each group is durable (wakes the readers)
   */
  public static Future<UsageJournal> open(Vertx vertx, Path dir, long segmentBytes, Duration fsyncInterval,
      Runnable onCommit) {
    return open(vertx, dir, segmentBytes, fsyncInterval, onCommit, JournalKeys.inMemory());
  }

  /**
   * Opens the journal in {@code dir}.
   *
   * @param fsyncInterval at most one group is written (and fsynced) per interval
   * @param onCommit run on the caller's context after each group is durable (wakes the readers)
   * @param keys     how raw API keys are kept out of the files and recovered from them
   */
  public static Future<UsageJournal> open(Vertx vertx, Path dir, long segmentBytes, Duration fsyncInterval,
      Runnable onCommit, JournalKeys keys) {
    String id = UUID.randomUUID().toString();
    WorkerExecutor writer = vertx.createSharedWorkerExecutor("llmproxy-usage-journal-writer-" + id, 1);
    WorkerExecutor reader = vertx.createSharedWorkerExecutor("llmproxy-usage-journal-reader-" + id, 1);
    return writer.executeBlocking(() -> Journal.open(dir, segmentBytes))
        .map(journal -> new UsageJournal(vertx, writer, reader, journal, fsyncInterval, onCommit, keys))
        .onFailure(e -> {
          writer.close();
          reader.close();
        });
  }

  /** Appends one record; the future completes with its seq once it is on disk. */
  public Future<Long> append(UsageRecord usage) {
    return appendAll(List.of(usage));
  }

  /**
   * Appends records in order, all in the same group: the future completes with the first one's seq once all are on
   * disk (the others follow it), or fails for all of them.
   */
  public Future<Long> appendAll(List<UsageRecord> records) {
    Promise<Long> appended = Promise.promise();
    for (UsageRecord usage : records) {
      keys.remember(usage);
    }
    pending.add(new Pending(records, appended));
    pendingRecords += records.size();
    notDurable += records.size();
    if (!writing) {
      scheduleWrite();
    }
    return appended.future();
  }

  /** The next group is written one fsync interval after the last one began (at once if that is past). */
  private void scheduleWrite() {
    if (lingerTimer >= 0 || pending.isEmpty()) {
      return;
    }
    long dueInMs = fsyncIntervalMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastWriteNanos);
    if (dueInMs <= 0 || pendingRecords >= MAX_GROUP) {
      writeGroup();
      return;
    }
    lingerTimer = vertx.setTimer(dueInMs, t -> {
      lingerTimer = -1;
      writeGroup();
    });
  }

  private void writeGroup() {
    if (writing || pending.isEmpty()) {
      return;
    }
    // Whole appends, up to MAX_GROUP records (one batch more than that goes alone): a batch is never split.
    int taken = 0;
    int size = 0;
    while (taken < pending.size() && (taken == 0 || size + pending.get(taken).records().size() <= MAX_GROUP)) {
      size += pending.get(taken++).records().size();
    }
    List<Pending> group;
    if (taken == pending.size()) {
      group = pending;
      pending = new ArrayList<>();
    } else {
      group = new ArrayList<>(pending.subList(0, taken));
      pending = new ArrayList<>(pending.subList(taken, pending.size()));
    }
    int records = size;
    pendingRecords -= records;
    writing = true;
    lastWriteNanos = System.nanoTime();
    // Records are immutable: the writer thread encodes them (and seals their keys), not the event loop.
    List<UsageRecord> flat = new ArrayList<>(records);
    group.forEach(p -> flat.addAll(p.records()));
    lastWrite = writer.executeBlocking(() -> journal.appendWritten(flat.size(),
            (index, out) -> keys.writeToDisk(flat.get(index), out)))
        .andThen(ar -> {
          writing = false;
          notDurable -= records;
          if (ar.succeeded()) {
            long seq = ar.result();
            committed = seq + records;
            // All remembered before any future completes: what a completion runs may read them at once.
            for (Pending p : group) {
              for (UsageRecord usage : p.records()) {
                remember(new JournalEntry(seq++, null, usage));
              }
            }
            seq = ar.result();
            for (Pending p : group) {
              p.appended().complete(seq);
              seq += p.records().size();
            }
            onCommit.run();
          } else {
            group.forEach(p -> p.appended().fail(ar.cause()));
          }
          scheduleWrite();
        })
        .mapEmpty();
  }

  /** Records appended whose fsync has not finished: when it grows, the disk does not keep up with the gateway. */
  public int notDurable() {
    return notDurable;
  }

  /** The seq after the last durable record: readers may read everything below it. */
  public long committed() {
    return committed;
  }

  private void remember(JournalEntry entry) {
    if (!tail.isEmpty() && tail.peekLast().seq() + 1 != entry.seq()) {
      tail.clear();
    }
    tail.addLast(entry);
    if (tail.size() > TAIL_MAX) {
      tail.removeFirst();
    }
  }

  /** Up to {@code max} durable records from {@code fromSeq}: from memory when they are still there, else from disk. */
  public Future<List<JournalEntry>> read(long fromSeq, int max) {
    JournalEntry oldest = tail.peekFirst();
    if (oldest != null && oldest.seq() <= fromSeq && fromSeq < committed) {
      // Readers are usually a few records behind the writer: walk back from the newest, not on from the oldest.
      ArrayDeque<JournalEntry> newest = new ArrayDeque<>();
      Iterator<JournalEntry> backwards = tail.descendingIterator();
      while (backwards.hasNext()) {
        JournalEntry entry = backwards.next();
        if (entry.seq() < fromSeq) {
          break;
        }
        newest.addFirst(entry);
        if (newest.size() > max) {
          newest.removeLast();
        }
      }
      return Future.succeededFuture(new ArrayList<>(newest));
    }
    return reader.executeBlocking(() -> journal.read(fromSeq, max).stream()
        .map(entry -> new JournalEntry(entry.seq(), entry.record(), keys.fromDisk(entry.record())))
        .toList());
  }

  public Future<Long> cursor(String name) {
    return reader.executeBlocking(() -> journal.readCursor(name));
  }

  /**
   * Saves a reader's cursor, then deletes the segments every reader has passed. The records every reader has
   * passed leave the in-memory tail at once: records still held at a young collection are promoted. With a webhook
   * reporter, keeping the last 5,000 grew the old generation by ~200 KB per young collection under load, and
   * ParallelGC then collected it in full (80–100 ms) about once a minute; trimmed, it stays flat.
   *
   * @param lowestCursor the lowest cursor of all enabled readers, this one's new value included
   */
  public Future<Void> saveCursor(String name, long nextSeq, long lowestCursor) {
    while (!tail.isEmpty() && tail.peekFirst().seq() < lowestCursor) {
      tail.removeFirst();
    }
    return reader.executeBlocking(() -> {
      journal.writeCursor(name, nextSeq);
      journal.compact(lowestCursor);
      return null;
    });
  }

  /** Writes what is still buffered (fsynced), lets the reader thread finish its queue, then closes everything. */
  public Future<Void> close() {
    if (lingerTimer >= 0) {
      vertx.cancelTimer(lingerTimer);
      lingerTimer = -1;
    }
    return drain()
        .eventually(() -> reader.executeBlocking(() -> null))
        .eventually(() -> writer.executeBlocking(() -> {
          journal.close();
          return null;
        }))
        .eventually(reader::close)
        .eventually(writer::close);
  }

  private Future<Void> drain() {
    writeGroup();
    if (!writing && pending.isEmpty()) {
      return Future.succeededFuture();
    }
    return lastWrite.transform(ar -> drain());
  }
}
