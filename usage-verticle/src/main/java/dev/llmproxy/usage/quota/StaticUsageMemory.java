package dev.llmproxy.usage.quota;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.model.StaticKeyUsage;
import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The static keys' usage when {@code admin} is off (no builtin store to keep it in): in this verticle's memory, read
 * by the auth verticle over {@link Addresses#KEYS_USAGE}. Charged once per request id while the gateway runs; a
 * restart forgets it all, and each key starts again from its configured {@code used_quota}. Confined to the usage
 * verticle's event loop.
 */
final class StaticUsageMemory {

  /** Enough to outlast any delivery retried within one run; a charge older than that is not retried. */
  private static final int MAX_CHARGED_IDS = 100_000;

  private final Map<String, StaticKeyUsage> byHash = new HashMap<>();
  private final Map<String, Boolean> charged = new LinkedHashMap<>(1024, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > MAX_CHARGED_IDS;
    }
  };

  /** Answers {@link Addresses#KEYS_USAGE}; the consumer ends with the verticle. */
  Future<Void> serve(EventBus bus) {
    MessageConsumer<JsonObject> consumer = bus.consumer(Addresses.KEYS_USAGE, this::usage);
    return consumer.completion();
  }

  private void usage(Message<JsonObject> message) {
    String hash = message.body() == null ? null : message.body().getString(KeyLookup.KEY_HASH);
    if (hash == null || hash.isEmpty()) {
      message.fail(400, "key_hash is required");
      return;
    }
    StaticKeyUsage usage = byHash.get(hash.toLowerCase());
    message.reply(usage == null ? null : usage.toJson());
  }

  /** @return true when the request was charged now (not before) */
  boolean charge(String requestId, String keyHash, long tokens, String period, long configuredUsed) {
    if (charged.putIfAbsent(requestId, Boolean.TRUE) != null) {
      return false;
    }
    byHash.put(keyHash, StaticKeyUsage.charge(byHash.get(keyHash), tokens, period, configuredUsed, Instant.now()));
    return true;
  }
}
