package dev.llmproxy.usage.journal;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The journal as the usage verticle uses it, from its event loop: appends are buffered for {@link #LINGER_MS} and
 * written with one fsync per group (group commit), each append's future completing only after that fsync. Every
 * file operation runs on one dedicated worker thread, in order, never on the event loop.
 */
public final class UsageJournal {

  /** How long a record may wait for company before its group is written. */
  static final long LINGER_MS = 2;
  /** Upper bound of one group, so one write never holds up reads for long. */
  private static final int MAX_GROUP = 2000;

  private record Pending(JsonObject record, Promise<Long> appended) {
  }

  private final Vertx vertx;
  private final WorkerExecutor worker;
  private final Journal journal;
  private final Runnable onCommit;
  private List<Pending> pending = new ArrayList<>();
  private boolean writing;
  private long lingerTimer = -1;
  private volatile long committed;
  private Future<Void> lastWrite = Future.succeededFuture();

  private UsageJournal(Vertx vertx, WorkerExecutor worker, Journal journal, Runnable onCommit) {
    this.vertx = vertx;
    this.worker = worker;
    this.journal = journal;
    this.onCommit = onCommit;
    this.committed = journal.nextSeq();
  }

  /**
   * Opens the journal in {@code dir} on a worker thread of its own.
   *
   * @param onCommit run on the caller's context after each group is durable (wakes the readers)
   */
  public static Future<UsageJournal> open(Vertx vertx, Path dir, long segmentBytes, Runnable onCommit) {
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("llmproxy-usage-journal-" + UUID.randomUUID(), 1);
    return worker.executeBlocking(() -> Journal.open(dir, segmentBytes))
        .map(journal -> new UsageJournal(vertx, worker, journal, onCommit))
        .onFailure(e -> worker.close());
  }

  /** Appends one record; the future completes with its seq once it is on disk. */
  public Future<Long> append(JsonObject record) {
    Promise<Long> appended = Promise.promise();
    pending.add(new Pending(record, appended));
    if (!writing && lingerTimer < 0) {
      lingerTimer = vertx.setTimer(LINGER_MS, t -> {
        lingerTimer = -1;
        writeGroup();
      });
    }
    return appended.future();
  }

  private void writeGroup() {
    if (writing || pending.isEmpty()) {
      return;
    }
    List<Pending> group;
    if (pending.size() <= MAX_GROUP) {
      group = pending;
      pending = new ArrayList<>();
    } else {
      group = new ArrayList<>(pending.subList(0, MAX_GROUP));
      pending = new ArrayList<>(pending.subList(MAX_GROUP, pending.size()));
    }
    writing = true;
    List<JsonObject> records = new ArrayList<>(group.size());
    group.forEach(p -> records.add(p.record()));
    lastWrite = worker.executeBlocking(() -> journal.append(records))
        .andThen(ar -> {
          writing = false;
          if (ar.succeeded()) {
            long seq = ar.result();
            committed = seq + group.size();
            for (Pending p : group) {
              p.appended().complete(seq++);
            }
            onCommit.run();
          } else {
            group.forEach(p -> p.appended().fail(ar.cause()));
          }
          // Whatever arrived during the write has waited long enough: write it at once.
          writeGroup();
        })
        .mapEmpty();
  }

  /** The seq after the last durable record: readers may read everything below it. */
  public long committed() {
    return committed;
  }

  public Future<List<JournalEntry>> read(long fromSeq, int max) {
    return worker.executeBlocking(() -> journal.read(fromSeq, max));
  }

  public Future<Long> cursor(String reader) {
    return worker.executeBlocking(() -> journal.readCursor(reader));
  }

  /**
   * Saves a reader's cursor, then deletes the segments every reader has passed.
   *
   * @param lowestCursor the lowest cursor of all enabled readers, this one's new value included
   */
  public Future<Void> saveCursor(String reader, long nextSeq, long lowestCursor) {
    return worker.executeBlocking(() -> {
      journal.writeCursor(reader, nextSeq);
      journal.compact(lowestCursor);
      return null;
    });
  }

  /** Writes what is still buffered (fsynced), then closes the files and the worker. */
  public Future<Void> close() {
    if (lingerTimer >= 0) {
      vertx.cancelTimer(lingerTimer);
      lingerTimer = -1;
    }
    return drain()
        .eventually(() -> worker.executeBlocking(() -> {
          journal.close();
          return null;
        }))
        .eventually(worker::close);
  }

  private Future<Void> drain() {
    writeGroup();
    if (!writing && pending.isEmpty()) {
      return Future.succeededFuture();
    }
    return lastWrite.transform(ar -> drain());
  }
}
