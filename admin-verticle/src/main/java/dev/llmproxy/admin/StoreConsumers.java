package dev.llmproxy.admin;

import dev.llmproxy.admin.keys.KeyStore;
import dev.llmproxy.admin.keys.QuotaLedger;
import dev.llmproxy.admin.usage.UsageStore;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.model.StaticKeyUsage;
import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The builtin store's event-bus side: {@link Addresses#KEYS_LOOKUP} and {@link Addresses#KEYS_USAGE} (static keys'
 * usage) for the auth verticle, {@link Addresses#USAGE_STORE} and {@link Addresses#KEYS_CHARGE} for the usage verticle. A request that cannot be
 * read fails with 400 (sending it again will not help); a store failure fails with 500 so that the sender retries.
 */
final class StoreConsumers {

  private static final Logger LOG = LoggerFactory.getLogger(StoreConsumers.class);
  /** SQLite takes 32,766 parameters a statement; three a charge. */
  private static final int MAX_CHARGES = 1000;

  private final EventBus bus;
  private final KeyStore keys;
  private final QuotaLedger ledger;
  private final UsageStore usage;

  StoreConsumers(EventBus bus, KeyStore keys, QuotaLedger ledger, UsageStore usage) {
    this.bus = bus;
    this.keys = keys;
    this.ledger = ledger;
    this.usage = usage;
  }

  /** The consumers end with the verticle that registered them. */
  Future<?> register() {
    return Future.all(
        bus.<JsonObject>consumer(Addresses.KEYS_LOOKUP, this::lookup).completion(),
        bus.<JsonObject>consumer(Addresses.USAGE_STORE, this::store).completion(),
        bus.<JsonObject>consumer(Addresses.KEYS_CHARGE, this::charge).completion(),
        bus.<JsonObject>consumer(Addresses.KEYS_USAGE, this::staticUsage).completion());
  }

  /** A static key's usage; null when it was never charged. */
  private void staticUsage(Message<JsonObject> message) {
    answerByKeyHash(message, "keys.usage",
        hash -> ledger.staticUsage(hash).map(found -> found.map(StaticKeyUsage::toJson).orElse(null)));
  }

  /** A null reply is "no such key"; a failure reply is "the store could not tell". */
  private void lookup(Message<JsonObject> message) {
    answerByKeyHash(message, "keys.lookup", hash -> keys.find(hash).map(found -> found.orElse(null)));
  }

  /** Replies what {@code query} finds for the message's {@code key_hash} (lower-cased); 400 without one. */
  private static void answerByKeyHash(Message<JsonObject> message, String address,
      Function<String, Future<JsonObject>> query) {
    String hash = message.body() == null ? null : message.body().getString(KeyLookup.KEY_HASH);
    if (hash == null || hash.isEmpty()) {
      message.fail(400, "key_hash is required");
      return;
    }
    query.apply(hash.toLowerCase()).onComplete(found -> {
      if (found.succeeded()) {
        message.reply(found.result());
      } else {
        LOG.error("{} failed", address, found.cause());
        message.fail(500, "key store failed");
      }
    });
  }

  private void store(Message<JsonObject> message) {
    Object records = message.body() == null ? null : message.body().getValue("records");
    if (!(records instanceof JsonArray list)) {
      message.fail(400, "records is required: an array of usage records");
      return;
    }
    usage.store(list).onComplete(done -> {
      if (done.succeeded()) {
        if (done.result().rejected() > 0) {
          LOG.warn("usage.store: {} record(s) without a request id or time were not stored", done.result().rejected());
        }
        message.reply(new JsonObject().put("stored", done.result().stored())
            .put("rejected", done.result().rejected()));
      } else {
        LOG.error("usage.store failed", done.cause());
        message.fail(500, "usage store failed");
      }
    });
  }

  private void charge(Message<JsonObject> message) {
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    if (body.containsKey("charges")) {
      chargeAll(message, body.getValue("charges"));
      return;
    }
    QuotaLedger.ChargeRequest request = chargeRequest(body);
    if (request != null && request.staticKey() != null) {
      message.fail(400, "a static key's charge goes in a batch: {\"charges\": [...]}");
      return;
    }
    if (request == null) {
      message.fail(400, "request_id, key_hash and tokens (a non-negative integer) are required");
      return;
    }
    String normalised = request.keyHash();
    ledger.charge(request.requestId(), normalised, request.tokens()).onComplete(done -> {
      if (done.failed()) {
        LOG.error("keys.charge failed", done.cause());
        message.fail(500, "key store failed");
        return;
      }
      if (done.result().charged()) {
        bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, normalised));
      }
      message.reply(new JsonObject().put("charged", done.result().charged())
          .put("used_quota", done.result().usedQuota()));
    });
  }

  /** {@code {"charges": [{request_id, key_hash, tokens}, ...]}}: one transaction; replies the keys charged. */
  private void chargeAll(Message<JsonObject> message, Object charges) {
    List<QuotaLedger.ChargeRequest> requests = new ArrayList<>();
    if (!(charges instanceof JsonArray list) || list.isEmpty() || list.size() > MAX_CHARGES) {
      message.fail(400, "charges must be an array of 1 to " + MAX_CHARGES + " charges");
      return;
    }
    for (Object item : list) {
      QuotaLedger.ChargeRequest request = item instanceof JsonObject charge ? chargeRequest(charge) : null;
      if (request == null) {
        message.fail(400, "each charge needs request_id, key_hash and tokens (a non-negative integer)");
        return;
      }
      requests.add(request);
    }
    List<QuotaLedger.ChargeRequest> builtin = requests.stream().filter(r -> r.staticKey() == null).toList();
    List<QuotaLedger.ChargeRequest> statics = requests.stream().filter(r -> r.staticKey() != null).toList();
    ledger.chargeAll(builtin).compose(charged -> ledger.chargeStatic(statics).map(more -> {
      Map<String, Long> all = new LinkedHashMap<>(charged);
      all.putAll(more);
      return all;
    })).onComplete(done -> {
      if (done.failed()) {
        LOG.error("keys.charge failed", done.cause());
        message.fail(500, "key store failed");
        return;
      }
      JsonObject charged = new JsonObject();
      done.result().forEach((hash, used) -> {
        charged.put(hash, used);
        bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, hash));
      });
      message.reply(new JsonObject().put("charged", charged));
    });
  }

  private static QuotaLedger.ChargeRequest chargeRequest(JsonObject charge) {
    Object requestId = charge.getValue("request_id");
    Object hash = charge.getValue(KeyLookup.KEY_HASH);
    Object tokens = charge.getValue("tokens");
    if (!(requestId instanceof String id) || id.isBlank() || !(hash instanceof String keyHash) || keyHash.isBlank()
        || !(tokens instanceof Number n) || n.longValue() < 0 || n.doubleValue() != Math.rint(n.doubleValue())) {
      return null;
    }
    Object staticKey = charge.getValue("static");
    if (staticKey != null && !(staticKey instanceof JsonObject)) {
      return null;
    }
    QuotaLedger.StaticKey configured = staticKey instanceof JsonObject key
        ? new QuotaLedger.StaticKey(key.getString("quota_reset_period"), key.getValue("used_quota") instanceof Number used ? used.longValue() : 0L) : null;
    return new QuotaLedger.ChargeRequest(id, keyHash.toLowerCase(), n.longValue(), configured);
  }
}
