package dev.llmproxy.usage.requestlog;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.RequestLogConfig;
import dev.llmproxy.common.lua.LogFilter;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import io.vertx.core.Future;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code logging.request}: stores the message the proxy sends on {@link Addresses#REQUEST_LOG} for each inference
 * request, after {@code logging.request.script} (when enabled) has had its say.
 * <ul>
 *   <li>{@code storage}: a row in {@code table} of that {@code storage.databases} entry (PostgreSQL, MySQL/MariaDB
 *       or SQLite), created when missing. Rows are inserted in batches of up to {@value #BATCH_SIZE}, at least once
 *       a second, through the Vert.x SQL pools. While the database is unreachable rows wait, up to
 *       {@value #MAX_PENDING}; past that new rows are dropped and counted.</li>
 *   <li>{@code file.path}: the message as one JSON line on the {@value #FILE_LOGGER} logger, which the launcher
 *       points at a rolling file ({@code max_size_mb}, {@code max_backups}) behind a non-blocking appender.</li>
 * </ul>
 * Deployed by the launcher when {@code logging.enabled} and {@code logging.request.enabled}.
 */
public final class RequestLogVerticle extends GatewayVerticle {

  static final String FILE_LOGGER = "llmproxy.requestlog";
  static final int BATCH_SIZE = 100;
  static final int MAX_PENDING = 10_000;
  static final long FLUSH_EVERY_MS = 1000;
  private static final long WARN_EVERY_NANOS = 30_000_000_000L;
  private static final Logger LOG = LoggerFactory.getLogger(RequestLogVerticle.class);
  private static final Logger FILE = LoggerFactory.getLogger(FILE_LOGGER);

  private RequestLogConfig requestLog;
  private final long flushEveryMs;
  private final Deque<Tuple> pending = new ArrayDeque<>();
  private LogFilter filter;
  private Pools pools;
  private SqlDatabase database;
  private RequestLogSchema schema;
  private Future<Void> tableReady;
  /** The batch being inserted, or null. */
  private Future<Void> flushing;
  private long timer = -1;
  private long dropped;
  private long lastWarnNanos = -WARN_EVERY_NANOS;

  public RequestLogVerticle(GatewayConfig config) {
    this(config, FLUSH_EVERY_MS);
  }

  /** Deployed by class name or from another member: the config is the deployment's canonical JSON. */
  public RequestLogVerticle() {
    this(null, FLUSH_EVERY_MS);
  }

  /** @param flushEveryMs how often a partial batch is written (tests stretch it to see what stop writes) */
  RequestLogVerticle(GatewayConfig config, long flushEveryMs) {
    super(config);
    this.flushEveryMs = flushEveryMs;
  }

  @Override
  protected Future<?> startService() {
    requestLog = gatewayConfig().logging().request();
    if (!requestLog.storage().isEmpty()) {
      pools = new Pools(vertx, gatewayConfig().storage());
      onRelease(() -> pools.close());
      database = pools.database(requestLog.storage());
      schema = new RequestLogSchema(database.dialect(), requestLog.table());
      timer = vertx.setPeriodic(flushEveryMs, t -> flush());
      onRelease(() -> Future.succeededFuture(vertx.cancelTimer(timer)));
    }
    Future<Void> script = requestLog.script().enabled()
        ? ScriptLoader.load(vertx, requestLog.script(), "logging.request.script")
            .map(compiled -> {
              filter = new LogFilter(compiled, "logging.request.script");
              return null;
            })
        : Future.succeededFuture();
    return script.map(v -> this.<JsonObject>consumer(Addresses.REQUEST_LOG, message -> received(message.body())));
  }

  private void received(JsonObject log) {
    if (filter != null && !filter.keep(log.getMap(), requestView(log))) {
      return;
    }
    if (requestLog.writesLines()) {
      FILE.info(log.encode());
    }
    if (schema == null) {
      return;
    }
    if (pending.size() >= MAX_PENDING) {
      dropped++;
      warn("request log: {} row(s) waiting for {}; dropped {} so far", pending.size(), database.name(), dropped);
      return;
    }
    pending.add(schema.row(log));
    if (pending.size() >= BATCH_SIZE) {
      flush();
    }
  }

  private static Map<String, Object> requestView(JsonObject log) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("method", log.getString("method"));
    view.put("path", log.getString("path"));
    view.put("client_ip", log.getString("client_ip"));
    view.put("headers", log.getJsonObject("headers"));
    return view;
  }

  /** Inserts the next batch unless one is on its way; a failed batch goes back to the front to be tried again. */
  private Future<Void> flush() {
    if (flushing != null) {
      return flushing;
    }
    if (pending.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> batch = new ArrayList<>(Math.min(BATCH_SIZE, pending.size()));
    while (batch.size() < BATCH_SIZE && !pending.isEmpty()) {
      batch.add(pending.poll());
    }
    Future<Void> inserted = table()
        .compose(v -> database.pool().preparedQuery(schema.insert()).executeBatch(batch))
        .mapEmpty();
    flushing = inserted;
    return inserted.andThen(done -> {
      flushing = null;
      if (done.failed()) {
        for (int i = batch.size() - 1; i >= 0; i--) {
          pending.addFirst(batch.get(i));
        }
        warn("request log: writing {} row(s) to {} failed, will retry: {}", batch.size(), database.name(),
            done.cause().getMessage());
      } else if (pending.size() >= BATCH_SIZE) {
        flush();
      }
    });
  }

  /** The table, created once when missing; tried again on the next flush if the database was not reachable. */
  private Future<Void> table() {
    Future<Void> ready = tableReady;
    if (ready == null) {
      ready = database.pool().query(schema.createTable()).execute().mapEmpty();
      tableReady = ready;
      ready.onFailure(e -> tableReady = null);
    }
    return ready;
  }

  private void warn(String format, Object... args) {
    long now = System.nanoTime();
    if (now - lastWarnNanos >= WARN_EVERY_NANOS) {
      lastWarnNanos = now;
      LOG.warn(format, args);
    }
  }

  /** Once nothing more arrives: writes what is still waiting (one attempt per batch); the pools close after. */
  @Override
  protected Future<?> stopService() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return writeRemaining(pending.size() / BATCH_SIZE + 2);
  }

  private Future<Void> writeRemaining(int attemptsLeft) {
    if (schema == null || pending.isEmpty() || attemptsLeft == 0) {
      if (!pending.isEmpty()) {
        LOG.warn("request log: {} row(s) not written to {} at stop", pending.size(), database.name());
      }
      return Future.succeededFuture();
    }
    return flush().transform(ar -> writeRemaining(attemptsLeft - 1));
  }
}
