package dev.llmproxy.proxy.limit;

import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.ConcurrentHashMap;

/** One {@link StoreHealth} per store and JVM, so that an outage is logged once, not once per proxy instance. */
public final class StoreErrors {

  private final MeterRegistry meters;
  private final ConcurrentHashMap<String, StoreHealth> stores = new ConcurrentHashMap<>();

  public StoreErrors(MeterRegistry meters) {
    this.meters = meters;
    // At 0 from the start, so that an alert on its rate sees the first error.
    StoreHealth.errors(meters);
  }

  public StoreHealth of(String store) {
    return stores.computeIfAbsent(store, name -> new StoreHealth(meters, name));
  }
}
