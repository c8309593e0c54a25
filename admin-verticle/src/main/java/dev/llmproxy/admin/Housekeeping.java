package dev.llmproxy.admin;

import dev.llmproxy.admin.keys.QuotaLedger;
import dev.llmproxy.admin.usage.UsageStore;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's timers: quota resets at each key's period boundary (checked every minute, so a reset lands within a
 * minute of midnight UTC), and once a day the usage records past {@code retention_days} and the charged request ids
 * past {@link #CHARGE_IDS_KEPT}. Both also run once at start, so a gateway that was down over a boundary catches up.
 */
final class Housekeeping {

  /**
   * How long a charged request id is remembered: the usage verticle's retries of one charge come within its
   * journal's replay, which is hours, not days.
   */
  static final Duration CHARGE_IDS_KEPT = Duration.ofDays(7);
  private static final long RESET_CHECK_MS = 60_000;
  private static final long CLEAN_UP_MS = Duration.ofDays(1).toMillis();
  /** Above this many keys reset at once, one "all" publication is cheaper than one per key. */
  private static final int PUBLISH_EACH_UP_TO = 100;
  private static final Logger LOG = LoggerFactory.getLogger(Housekeeping.class);

  private final Vertx vertx;
  private final QuotaLedger ledger;
  private final UsageStore usage;
  private final IntSupplier retentionDays;

  /** {@code retentionDays} 0 keeps usage records forever; asked at each clean-up, so a reloaded config counts. */
  Housekeeping(Vertx vertx, QuotaLedger ledger, UsageStore usage, IntSupplier retentionDays) {
    this.vertx = vertx;
    this.ledger = ledger;
    this.usage = usage;
    this.retentionDays = retentionDays;
  }

  /** Runs both once, then on their timers (which end with the verticle). */
  Future<Void> start() {
    vertx.setPeriodic(RESET_CHECK_MS, t -> resetQuotas());
    vertx.setPeriodic(CLEAN_UP_MS, t -> cleanUp());
    return Future.all(resetQuotas(), cleanUp()).mapEmpty();
  }

  Future<Void> resetQuotas() {
    return ledger.resetDue(Instant.now()).map(hashes -> {
      publish(hashes);
      if (!hashes.isEmpty()) {
        LOG.info("quota period began for {} key(s): used quota reset", hashes.size());
      }
      return (Void) null;
    }).otherwise(failure -> {
      LOG.error("quota reset failed", failure);
      return null;
    });
  }

  Future<Void> cleanUp() {
    Instant now = Instant.now();
    int retentionDays = this.retentionDays.getAsInt();
    Future<Integer> records = retentionDays <= 0 ? Future.succeededFuture(0)
        : usage.prune(now.minus(Duration.ofDays(retentionDays)));
    Future<Integer> charges = ledger.pruneCharges(now.minus(CHARGE_IDS_KEPT));
    return Future.all(records, charges).map(done -> {
      if (records.result() > 0) {
        LOG.info("removed {} usage record(s) older than {} days", records.result(), retentionDays);
      }
      return (Void) null;
    }).otherwise(failure -> {
      LOG.error("store clean-up failed", failure);
      return null;
    });
  }

  private void publish(List<String> hashes) {
    if (hashes.size() > PUBLISH_EACH_UP_TO) {
      vertx.eventBus().publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.ALL, true));
      return;
    }
    hashes.forEach(hash -> vertx.eventBus().publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, hash)));
  }
}
