package dev.llmproxy.proxy.limit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether the rate-limit store answers. Every failure is counted ({@code llmproxy_ratelimit_store_errors_total});
 * an outage is logged once when it begins and once when it ends (a store that flickers, failing again within
 * 10 s of its last logged failure, is counted without more lines). For a short while after a failure requests are
 * decided without asking the store, so that an outage costs no request the store timeout.
 */
public final class StoreHealth {

  private static final Logger LOG = LoggerFactory.getLogger(StoreHealth.class);
  /** How long after a failure the store is not asked. */
  static final long SKIP_NANOS = 250_000_000L;
  /** A store that fails again this soon after its last logged failure is counted, not logged again. */
  private static final long QUIET_NANOS = 10_000_000_000L;

  private final Counter errors;
  private final String store;
  private final AtomicBoolean down = new AtomicBoolean();
  private final AtomicLong askAgainAtNanos = new AtomicLong(Long.MIN_VALUE);
  private volatile long loggedFailureAtNanos = System.nanoTime() - QUIET_NANOS;
  private volatile boolean outageLogged;

  StoreHealth(MeterRegistry meters, String store) {
    this.store = store;
    this.errors = errors(meters);
  }

  /** The one counter of every store's errors. */
  static Counter errors(MeterRegistry meters) {
    return Counter.builder("llmproxy_ratelimit_store_errors")
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
    long now = System.nanoTime();
    if (down.compareAndSet(false, true) && now - loggedFailureAtNanos >= QUIET_NANOS) {
      loggedFailureAtNanos = now;
      outageLogged = true;
      LOG.warn("rate-limit store {} failed ({}); requests are {} until it answers again", store,
          cause.getMessage(), "deny".equals(policy) ? "refused" : "let through unlimited");
    }
  }

  /** A decision taken without asking, during an outage. */
  void skipped() {
    errors.increment();
  }

  void answered() {
    if (down.get() && down.compareAndSet(true, false) && outageLogged) {
      outageLogged = false;
      LOG.info("rate-limit store {} answers again; limits apply", store);
    }
  }
}
