package dev.llmproxy.proxy.limit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether the rate-limit store answers. Every failure is counted ({@code llmproxy_ratelimit_store_errors_total});
 * an outage is logged once when it begins and once when it ends. For a short while after a failure requests are
 * decided without asking the store, so that an outage costs no request the store timeout.
 */
public final class StoreHealth {

  private static final Logger LOG = LoggerFactory.getLogger(StoreHealth.class);
  /** How long after a failure the store is not asked. */
  static final long SKIP_NANOS = 250_000_000L;

  private final Counter errors;
  private final String store;
  private final AtomicBoolean down = new AtomicBoolean();
  private final AtomicLong askAgainAtNanos = new AtomicLong(Long.MIN_VALUE);

  StoreHealth(MeterRegistry meters, String store) {
    this.store = store;
    this.errors = Counter.builder("llmproxy_ratelimit_store_errors")
        .description("Rate-limit decisions taken without the store because it failed or was too slow")
        .register(meters);
  }

  /** False while a recent failure says the store is down. */
  boolean worthAsking() {
    return System.nanoTime() - askAgainAtNanos.get() >= 0 || !down.get();
  }

  void failed(Throwable cause, String policy) {
    errors.increment();
    askAgainAtNanos.set(System.nanoTime() + SKIP_NANOS);
    if (down.compareAndSet(false, true)) {
      LOG.warn("rate-limit store {} failed ({}); requests are {} until it answers again", store,
          cause.getMessage(), "deny".equals(policy) ? "refused" : "let through unlimited");
    }
  }

  /** A decision taken without asking, during an outage. */
  void skipped() {
    errors.increment();
  }

  void answered() {
    if (down.get() && down.compareAndSet(true, false)) {
      LOG.info("rate-limit store {} answers again; limits apply", store);
    }
  }
}
