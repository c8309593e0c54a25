package dev.llmproxy.discovery.source;

import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.List;

/**
 * A source read again every {@code interval}, and whenever {@link #refresh()} is called (a watch saw a change).
 * Reads never overlap: a refresh asked for during a read runs right after it.
 */
public abstract class PollingSource implements DiscoverySource {

  protected final Vertx vertx;
  private final long intervalMs;
  private SourceFeed feed;
  private long timer = -1;
  private boolean reading;
  private boolean again;
  private boolean stopped;

  protected PollingSource(Vertx vertx, Duration interval) {
    this.vertx = vertx;
    this.intervalMs = Math.max(10, interval.toMillis());
  }

  /** One complete read of the source. */
  protected abstract Future<List<Backend>> fetch();

  @Override
  public Future<Void> start(SourceFeed feed) {
    this.feed = feed;
    timer = vertx.setPeriodic(intervalMs, id -> refresh());
    return read();
  }

  /** Reads the source now (or right after the read in progress). */
  protected final void refresh() {
    if (stopped) {
      return;
    }
    if (reading) {
      again = true;
      return;
    }
    read();
  }

  private Future<Void> read() {
    reading = true;
    Future<List<Backend>> fetched;
    try {
      fetched = fetch();
    } catch (RuntimeException e) {
      fetched = Future.failedFuture(e);
    }
    return fetched
        .onSuccess(list -> {
          if (!stopped) {
            feed.accept(list);
          }
        })
        .onFailure(failure -> {
          if (!stopped) {
            feed.fail(failure);
          }
        })
        .<Void>mapEmpty()
        .otherwiseEmpty()
        .onComplete(v -> {
          reading = false;
          if (again) {
            again = false;
            refresh();
          }
        });
  }

  protected SourceFeed feed() {
    return feed;
  }

  protected boolean stopped() {
    return stopped;
  }

  @Override
  public Future<Void> stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return Future.succeededFuture();
  }
}
