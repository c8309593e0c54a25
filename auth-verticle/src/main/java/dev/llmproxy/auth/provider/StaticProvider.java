package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.ApiKeyConfig;
import dev.llmproxy.common.model.StaticKeyUsage;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code type: static} (and the deprecated top-level {@code api_keys} / {@code auth.storage: file}, which the
 * config loader maps here). Keys are indexed by their hash, so the lookup never compares secrets directly.
 *
 * <p>A key with a {@code total_quota} is charged like the keys of a store (the usage verticle's quota accounting):
 * what it has used is asked over {@link Addresses#KEYS_USAGE} (the admin store, or the usage verticle's memory when
 * admin is off) and put into its record before the rules judge it. A ledger that does not answer fails the lookup,
 * which never lets the key through.
 */
public final class StaticProvider implements Provider {

  private record Key(JsonObject record, long totalQuota, long configuredUsed) {
  }

  private final String name;
  private final EventBus bus;
  private final DeliveryOptions delivery;
  private final Map<String, Key> byHash = new HashMap<>();

  public StaticProvider(String name, List<ApiKeyConfig> keys, EventBus bus, long timeoutMs) {
    this.name = name;
    this.bus = bus;
    this.delivery = new DeliveryOptions().setSendTimeout(timeoutMs);
    for (ApiKeyConfig key : keys) {
      JsonObject record = key.toJson();
      record.remove("key");
      byHash.putIfAbsent(KeyHash.sha256Hex(key.key()), new Key(record, key.totalQuota(), key.usedQuota()));
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    Key key = byHash.get(keyHash);
    if (key == null) {
      return Future.succeededFuture(Lookup.NOT_FOUND);
    }
    if (key.totalQuota() <= 0) {
      return Future.succeededFuture(Lookup.found(key.record().copy()));
    }
    return bus.<JsonObject>request(Addresses.KEYS_USAGE, new JsonObject().put(KeyLookup.KEY_HASH, keyHash), delivery)
        .map(reply -> {
          JsonObject record = key.record().copy();
          if (reply.body() != null) {
            StaticKeyUsage.fromJson(reply.body()).applyTo(record, key.configuredUsed());
          }
          return Lookup.found(record);
        });
  }
}
