package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.KeyLookup;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;

/**
 * {@code type: builtin}: the admin verticle's key store, asked over {@link Addresses#KEYS_LOOKUP} by the key's
 * SHA-256 (the store keeps keys hashed). A null reply is "not found"; a failure (no admin verticle, timeout, store
 * error) is an error.
 */
public final class BuiltinProvider implements Provider {

  private final String name;
  private final EventBus bus;
  private final DeliveryOptions delivery;

  public BuiltinProvider(String name, EventBus bus, long timeoutMs) {
    this.name = name;
    this.bus = bus;
    this.delivery = new DeliveryOptions().setSendTimeout(timeoutMs);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    return bus.<Object>request(Addresses.KEYS_LOOKUP, new JsonObject().put(KeyLookup.KEY_HASH, keyHash), delivery)
        .map(reply -> {
          Object body = reply.body();
          if (body == null) {
            return Lookup.NOT_FOUND;
          }
          if (body instanceof JsonObject record) {
            return Lookup.found(record);
          }
          throw new IllegalStateException("keys.lookup replied with " + body.getClass().getSimpleName());
        });
  }
}
