package dev.llmproxy.usage;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.UsageHandoverConfig;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.verticle.GatewayVerticle;
import dev.llmproxy.usage.journal.JournalKeys;
import dev.llmproxy.usage.journal.UsageJournal;
import dev.llmproxy.usage.reporter.UsageMemberReporter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.eventbus.Message;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a cluster member that runs the proxy but not the usage verticle: the proxies' usage records
 * ({@link Addresses#USAGE_HANDOVER}, local only) go to a journal of this member first, the same journal the usage
 * verticle keeps, and one delivery loop hands them to a usage member in journal order ({@link UsageMemberReporter}),
 * moving its cursor only over what a usage member has acknowledged as on its disk. While no usage member is up the
 * records wait on this member's disk (across its restarts too), at most {@code cluster.usage_handover.max_records}
 * of them: past that a record is refused, counted in {@code llmproxy_usage_handover_dropped_total{reason="full"}}
 * and logged (once a minute with the count), never dropped silently.
 */
public final class UsageHandoverVerticle extends GatewayVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(UsageHandoverVerticle.class);
  private static final String CURSOR = "handover";
  /** A usage member that comes back is found within this long (the loop's retries back off up to it). */
  static final long MAX_BACKOFF_MS = 5_000;
  private static final long STOP_WAIT_MS = 5_000;
  private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private MeterRegistry registry;
  private final Map<String, String> environment;
  private final List<Meter> meters = new ArrayList<>();
  private UsageJournal journal;
  private DeliveryLoop loop;
  private Counter droppedFull;
  private Counter droppedJournal;
  private long droppedSinceLog;
  private long lastDropLogNanos;

  /**
   * Whether a member runs it: it runs the proxy and not the usage verticle, and the usage verticle keeps records
   * (with neither reporters nor quota accounting it only counts them, and the proxies send them on directly).
   */
  public static boolean runsOn(GatewayConfig config) {
    return config.cluster().handsOverUsage() && UsageVerticle.keepsRecords(config);
  }

  /** Its metrics go to the JVM's meter registry ({@link #jvm()}), taken at start. */
  public UsageHandoverVerticle(GatewayConfig config) {
    this(config, System.getenv());
  }

  /** Deployed by class name: the config is the deployment's canonical JSON. */
  public UsageHandoverVerticle() {
    this(null);
  }

  UsageHandoverVerticle(GatewayConfig config, Map<String, String> environment) {
    super(config);
    this.environment = environment;
  }

  @Override
  protected Future<?> startService() {
    GatewayConfig config = gatewayConfig();
    registry = jvm().computeIfAbsent(MeterRegistry.class, SimpleMeterRegistry::new);
    UsageRecordCodec.register(vertx.eventBus());
    UsageHandoverConfig handover = config.cluster().usageHandover();
    JournalKeys keys;
    try {
      keys = JournalKeys.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e.getMessage());
    }
    Path dir = Path.of(handover.journalPath(config.usage(), config.cluster().port()));
    UsageMemberReporter reporter = new UsageMemberReporter(vertx.eventBus(), handover.ackTimeout());
    return UsageJournal.open(vertx, dir, UsageVerticle.SEGMENT_BYTES, config.usage().journalFsyncInterval(),
            () -> loop.wake(), keys)
        .compose(opened -> {
          journal = opened;
          onRelease(journal::close);
          return journal.cursor(CURSOR);
        })
        .compose(cursor -> {
          loop = new DeliveryLoop(vertx, journal, reporter, CURSOR, null, cursor, UsageVerticle.FIRST_BACKOFF_MS,
              MAX_BACKOFF_MS, () -> loop.cursor());
          registerMeters();
          long waiting = loop.backlog();
          LOG.info("usage hand-over journal {}: {} record(s) waiting for a usage member, at most {} kept",
              dir.toAbsolutePath(), waiting, handover.maxRecords());
          this.<Object>localConsumer(Addresses.USAGE_HANDOVER, this::record);
          return Future.succeededFuture();
        })
        .onSuccess(v -> loop.wake());
  }

  private void registerMeters() {
    onRelease(() -> {
      meters.forEach(registry::remove);
      return Future.succeededFuture();
    });
    meters.add(Gauge.builder("llmproxy_usage_handover_backlog", this, UsageHandoverVerticle::waiting)
        .description("Usage records kept on this proxy member and not yet acknowledged by a usage member")
        .register(registry));
    droppedFull = dropped("full");
    droppedJournal = dropped("journal_error");
  }

  private Counter dropped(String reason) {
    Counter counter = Counter.builder("llmproxy_usage_handover_dropped")
        .description("Usage records this proxy member could not keep for a usage member: its hand-over journal was"
            + " full (cluster.usage_handover.max_records) or could not be written")
        .tag("reason", reason).register(registry);
    meters.add(counter);
    return counter;
  }

  /** Records kept here and not yet acknowledged, those still on their way to the disk included. */
  private double waiting() {
    return loop.backlog() + journal.notDurable();
  }

  /** One record or a proxy event loop's batch: journaled here, as many as there is room for, never dropped silently. */
  private void record(Message<Object> message) {
    List<UsageRecord> records = UsageBatch.of(message.body());
    long room = gatewayConfig().cluster().usageHandover().maxRecords() - (long) waiting();
    List<UsageRecord> kept = room >= records.size() ? records : records.subList(0, (int) Math.max(0, room));
    for (UsageRecord refused : records.subList(kept.size(), records.size())) {
      droppedFull.increment();
      logDrop(refused, "the hand-over journal holds cluster.usage_handover.max_records ("
          + gatewayConfig().cluster().usageHandover().maxRecords() + ") records no usage member has taken");
    }
    if (kept.isEmpty()) {
      return;
    }
    journal.appendAll(kept).onFailure(e -> {
      droppedJournal.increment(kept.size());
      logDrop(kept.get(kept.size() - 1), "the hand-over journal could not be written: " + e.getMessage());
    });
  }

  /** Every drop is counted; the log says so at once, then at most once a minute with how many since. */
  private void logDrop(UsageRecord usage, String why) {
    droppedSinceLog++;
    long now = System.nanoTime();
    if (lastDropLogNanos != 0 && now - lastDropLogNanos < LOG_EVERY_NANOS) {
      return;
    }
    LOG.error("usage hand-over: {} usage record(s) DROPPED (the last: {}): {}", droppedSinceLog, usage.requestId(),
        why);
    droppedSinceLog = 0;
    lastDropLogNanos = now;
  }

  /** After the consumer is gone: the delivery loop hands over what it can, then the journal is closed (a release). */
  @Override
  protected Future<?> stopService() {
    return loop == null ? Future.succeededFuture() : loop.stop(STOP_WAIT_MS);
  }
}
