package dev.llmproxy.usage;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.ReporterConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.usage.journal.JournalKeys;
import dev.llmproxy.usage.journal.UsageJournal;
import dev.llmproxy.usage.quota.QuotaCharger;
import dev.llmproxy.usage.reporter.BuiltinReporter;
import dev.llmproxy.usage.reporter.DatabaseReporter;
import dev.llmproxy.usage.reporter.Reporter;
import dev.llmproxy.usage.reporter.WebhookReporter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import dev.llmproxy.common.verticle.GatewayVerticle;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives the usage records of finished requests on {@link Addresses#USAGE_RECORD}, one record or a proxy event
 * loop's batch a message, appends them to the durable journal ({@code usage.journal_path}) and, when the message
 * asked for a reply, answers {@code {"seq": n}} (the first record's) only once they are fsynced. Each enabled reporter and the quota accounting read the journal with their own
 * cursor ({@link DeliveryLoop}); segments all of them have passed are deleted.
 *
 * <p>The journal runs when there is someone to read it: {@code usage.enabled} with enabled reporters, or an auth
 * pipeline whose keys live in a store we charge (builtin, redis, database). Otherwise records are only counted.
 */
public final class UsageVerticle extends GatewayVerticle {

  private static final long STOP_WAIT_MS = 5_000;

  private static final Logger LOG = LoggerFactory.getLogger(UsageVerticle.class);
  static final long SEGMENT_BYTES = 16L * 1024 * 1024;
  static final long FIRST_BACKOFF_MS = 250;
  static final long MAX_BACKOFF_MS = 30_000;
  static final String QUOTA_CURSOR = "quota";

  private GatewayConfig config;
  private MeterRegistry registry;
  private Future<?> deliveriesEnded = Future.succeededFuture();
  private final List<Meter> meters = new ArrayList<>();
  private final List<Reporter> reporters = new ArrayList<>();
  private final List<DeliveryLoop> loops = new ArrayList<>();
  private final LuaSandbox sandbox = new LuaSandbox();
  private Pools pools;
  private UsageJournal journal;
  private long received;

  private final long segmentBytes;
  private final Map<String, String> environment;
  private JournalKeys journalKeys;

  /** Its metrics go to the JVM's meter registry ({@link #jvm()}), taken at start. */
  public UsageVerticle(GatewayConfig config) {
    this(config, SEGMENT_BYTES, System.getenv());
  }

  /** Deployed by class name: the config is the deployment's canonical JSON. */
  public UsageVerticle() {
    this(null);
  }

  /**
   * @param segmentBytes size at which a journal segment is closed (small in tests, to see compaction)
   * @param environment  where {@value JournalKeys#ENV} is read from
   */
  UsageVerticle(GatewayConfig config, long segmentBytes, Map<String, String> environment) {
    super(config);
    this.segmentBytes = segmentBytes;
    this.environment = environment;
  }

  @Override
  protected Future<?> startService() {
    config = gatewayConfig();
    registry = jvm().computeIfAbsent(MeterRegistry.class, SimpleMeterRegistry::new);
    UsageRecordCodec.register(vertx.eventBus());
    try {
      journalKeys = JournalKeys.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e.getMessage());
    }
    pools = new Pools(vertx, config.storage());
    // Released in reverse: the meters, the journal (its lock), the reporters, the pools.
    onRelease(() -> pools.close());
    onRelease(() -> Future.join(reporters.stream().map(Reporter::close).toList()));
    onRelease(() -> journal == null ? Future.succeededFuture() : journal.close());
    onRelease(() -> {
      meters.forEach(registry::remove);
      return Future.succeededFuture();
    });
    return readers()
        .compose(this::openJournal)
        .map(v -> this.<Object>consumer(Addresses.USAGE_RECORD, this::record))
        .compose(consumer -> consumer.completion())
        .onSuccess(v -> wakeAll());
  }

  /** Whether records are journaled and read: some reporter is enabled, or quota accounting charges keys. */
  public static boolean keepsRecords(GatewayConfig config) {
    boolean reporters = config.usage().enabled() && config.usage().reporters().stream().anyMatch(ReporterConfig::enabled);
    return reporters || config.auth().enabled() && QuotaCharger.charges(config.auth().pipeline());
  }

  /** What will read the journal: each enabled reporter (its script compiled), then quota accounting. */
  private Future<List<DeliveryLoopSpec>> readers() {
    List<Future<DeliveryLoopSpec>> specs = new ArrayList<>();
    try {
      if (config.usage().enabled()) {
        for (ReporterConfig reporter : config.usage().reporters()) {
          if (reporter.enabled()) {
            specs.add(spec(reporter));
          }
        }
      }
      if (config.auth().enabled() && QuotaCharger.charges(config.auth().pipeline())) {
        QuotaCharger quota = new QuotaCharger(vertx.eventBus(), pools, config.auth().pipeline(),
            config.admin().enabled());
        quota.staticRawKeys().forEach(journalKeys::remember);
        reporters.add(quota);
        specs.add(quota.start().map(new DeliveryLoopSpec(quota, QUOTA_CURSOR, null)));
      }
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    return Future.all(specs).map(all -> specs.stream().map(Future::result).toList());
  }

  /** Opens the journal and a delivery loop per reader at its saved cursor; no journal when nobody reads it. */
  private Future<Void> openJournal(List<DeliveryLoopSpec> specs) {
    if (specs.isEmpty()) {
      LOG.info("usage: no reporter and no quota accounting enabled: tokens are counted in /metrics only, no record is "
          + "kept and usage.journal_path is not written (add a usage.reporters entry to keep records)");
      return Future.succeededFuture();
    }
    Path dir = Path.of(config.usage().journalPath());
    if (!journalKeys.seals() && includesRawKeys()) {
      LOG.warn("usage: raw API keys are kept in memory only (the journal holds them hashed and masked); records read "
          + "back after a restart may lack them: Redis/database quota charges and include_raw_key webhooks of such "
          + "records are then skipped or sent masked. Set {} to keep them encrypted in the journal", JournalKeys.ENV);
    }
    return UsageJournal.open(vertx, dir, segmentBytes, config.usage().journalFsyncInterval(), this::wakeAll,
        journalKeys).compose(opened -> {
      journal = opened;
      List<Future<Long>> cursors = specs.stream().map(spec -> journal.cursor(spec.cursorName())).toList();
      return Future.all(cursors).map(all -> {
        for (int i = 0; i < specs.size(); i++) {
          DeliveryLoopSpec spec = specs.get(i);
          loops.add(new DeliveryLoop(vertx, journal, spec.reporter(), spec.cursorName(), spec.script(),
              cursors.get(i).result(), FIRST_BACKOFF_MS, MAX_BACKOFF_MS, this::lowestCursor));
        }
        registerMeters();
        LOG.info("usage journal {} up to record {}, readers {}", dir.toAbsolutePath(), journal.committed() - 1,
            loops.stream().map(l -> l.name() + "@" + l.cursor()).toList());
        return null;
      });
    });
  }

  /** True when some reader needs raw keys: a webhook with include_raw_key, or Redis/database quota charges. */
  private boolean includesRawKeys() {
    boolean webhook = config.usage().enabled() && config.usage().reporters().stream()
        .anyMatch(r -> r.enabled() && r.type().equals("webhook") && r.webhook().includeRawKey());
    boolean stores = config.auth().enabled() && config.auth().pipeline().stream()
        .anyMatch(p -> p.enabled() && (p.type().equals("redis") || p.type().equals("database")));
    return webhook || stores;
  }

  /** A reader of the journal: a reporter (or quota accounting), the name of its cursor, its script if any. */
  private record DeliveryLoopSpec(Reporter reporter, String cursorName, RecordScript script) {
  }

  private Future<DeliveryLoopSpec> spec(ReporterConfig config) {
    Reporter reporter = switch (config.type()) {
      case "webhook" -> new WebhookReporter(config.name(), vertx, config.webhook(),
          counter("llmproxy_webhook_success", "Usage records a webhook delivered (each record of a batch counts)", config.name()),
          counter("llmproxy_webhook_failure", "Webhook requests that failed (an attempt: one record, or a batch)", config.name()));
      case "database" -> new DatabaseReporter(config.name(), pools.database(config.database().storage()),
          config.database().table());
      case "builtin" -> new BuiltinReporter(config.name(), vertx.eventBus());
      default -> throw new IllegalArgumentException("usage.reporters " + config.name() + ": unknown type '"
          + config.type() + "'");
    };
    reporters.add(reporter);
    String owner = "usage.reporters." + config.name() + ".script";
    String cursorName = "reporter-" + config.name();
    if (!config.script().enabled() || !config.script().hasSource()) {
      return Future.succeededFuture(new DeliveryLoopSpec(reporter, cursorName, null));
    }
    return ScriptLoader.load(vertx, config.script(), owner)
        .map(script -> new DeliveryLoopSpec(reporter, cursorName, new RecordScript(config.name(), script, sandbox)));
  }

  private Counter counter(String name, String help, String reporter) {
    Counter counter = Counter.builder(name).description(help).tag("reporter", reporter).register(registry);
    meters.add(counter);
    return counter;
  }

  private void registerMeters() {
    meters.add(Gauge.builder("llmproxy_usage_journal_pending", journal, UsageJournal::notDurable)
        .description("Usage records received and not yet durable in the journal").register(registry));
    for (DeliveryLoop loop : loops) {
      meters.add(Gauge.builder("llmproxy_usage_journal_backlog", loop, DeliveryLoop::backlog)
          .description("Usage records durable in the journal and not yet delivered by this reporter")
          .tag("reporter", loop.name()).register(registry));
    }
  }

  private long lowestCursor() {
    long lowest = Long.MAX_VALUE;
    for (DeliveryLoop loop : loops) {
      lowest = Math.min(lowest, loop.cursor());
    }
    return lowest;
  }

  private void wakeAll() {
    loops.forEach(DeliveryLoop::wake);
  }

  /** One record, or a proxy event loop's batch ({@link UsageBatch}): journaled together, answered once durable. */
  private void record(Message<Object> message) {
    List<UsageRecord> records = UsageBatch.of(message.body());
    received += records.size();
    if (journal == null) {
      if (message.replyAddress() != null) {
        message.reply(new JsonObject().put("journaled", false));
      }
      return;
    }
    journal.appendAll(records).onComplete(ar -> {
      if (ar.failed()) {
        LOG.error("{} usage record(s) could not be journaled (the first: {}): {}", records.size(),
            records.get(0).requestId(), ar.cause().getMessage());
        if (message.replyAddress() != null) {
          message.fail(500, "usage journal: " + ar.cause().getMessage());
        }
      } else if (message.replyAddress() != null) {
        message.reply(new JsonObject().put("journaled", true).put("seq", ar.result()).put("records", records.size()));
      }
    });
  }

  /**
   * A delivery under way finishes (and saves its cursor) before the journal closes: what was delivered is not
   * delivered again after a clean stop. The loops are told to stop before the consumer leaves.
   */
  @Override
  protected Future<?> drain() {
    LOG.info("usage verticle stopping after {} record(s)", received);
    deliveriesEnded = Future.join(loops.stream().map(loop -> loop.stop(STOP_WAIT_MS)).toList());
    return Future.succeededFuture();
  }

  @Override
  protected Future<?> stopService() {
    return deliveriesEnded;
  }
}
