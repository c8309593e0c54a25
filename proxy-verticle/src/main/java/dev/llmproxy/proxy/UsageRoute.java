package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.model.UsageBatch;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;

/**
 * Where a proxy sends its usage records: to a usage verticle (of its JVM or, in a cluster, of any member), or, on a
 * member without the usage role, to the usage hand-over of its own JVM, which keeps them on disk until a usage member
 * acknowledges them. Sending never waits: the answer to the client does not depend on it. Records go in batches
 * ({@link UsageBatcher}).
 */
enum UsageRoute {
  USAGE_VERTICLE(Addresses.USAGE_RECORD, new DeliveryOptions()),
  HANDOVER(Addresses.USAGE_HANDOVER, new DeliveryOptions().setLocalOnly(true));

  private final String address;
  private final DeliveryOptions options;

  UsageRoute(String address, DeliveryOptions options) {
    this.address = address;
    this.options = options;
  }

  void send(EventBus bus, UsageBatch batch) {
    bus.send(address, batch, options);
  }
}
