package dev.llmproxy.admin.api;

import dev.llmproxy.admin.api.AdminApi.Route;
import dev.llmproxy.admin.keys.KeyGenerator;
import dev.llmproxy.admin.keys.KeyStore;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code /admin/keys/*}: the original's key operations on the builtin store, and {@code reset_quota}. */
public final class KeyEndpoints {

  private static final int DEFAULT_LIMIT = 20;
  private static final int MAX_LIMIT = 100;
  private static final Logger LOG = LoggerFactory.getLogger(KeyEndpoints.class);

  private final KeyStore store;
  private final KeyGenerator generator;
  private final EventBus bus;

  public KeyEndpoints(KeyStore store, KeyGenerator generator, EventBus bus) {
    this.store = store;
    this.generator = generator;
    this.bus = bus;
  }

  public Map<String, Route> routes() {
    Map<String, Route> routes = new LinkedHashMap<>();
    routes.put("/admin/keys/create", Route.post(this::create));
    routes.put("/admin/keys/update", Route.post(this::update));
    routes.put("/admin/keys/delete", Route.post(this::delete));
    routes.put("/admin/keys/get", Route.post(this::get));
    routes.put("/admin/keys/list", Route.post(this::list));
    routes.put("/admin/keys/sync", Route.post(this::sync));
    routes.put("/admin/keys/reset_quota", Route.post(this::resetQuota));
    return routes;
  }

  private Future<AdminCall.Response> create(JsonObject body) {
    String given = KeyInput.key(body, false);
    String key = given == null ? generator.newKey() : given;
    Map<String, Object> columns = KeyInput.columns(body);
    return store.insert(key, columns)
        .recover(failure -> Future.failedFuture(failure instanceof KeyStore.DuplicateKey
            ? AdminError.conflict("key already exists") : failure))
        .map(record -> {
          changed(record.getString("key_hash"));
          LOG.info("admin created key {}", Secrets.mask(key));
          // the only time the plain key leaves the store: the caller must keep it
          return Replies.ok("key created", record.copy().put("key", key));
        });
  }

  private Future<AdminCall.Response> update(JsonObject body) {
    String hash = KeyInput.hash(body);
    Map<String, Object> columns = KeyInput.columns(body);
    return store.update(hash, columns).map(found -> {
      JsonObject record = found.orElseThrow(() -> AdminError.notFound("key not found"));
      changed(hash);
      return Replies.ok("key updated", record);
    });
  }

  private Future<AdminCall.Response> delete(JsonObject body) {
    String hash = KeyInput.hash(body);
    return store.delete(hash).map(deleted -> {
      if (!deleted) {
        throw AdminError.notFound("key not found");
      }
      changed(hash);
      return Replies.ok("key deleted", null);
    });
  }

  private Future<AdminCall.Response> get(JsonObject body) {
    String hash = KeyInput.hash(body);
    return store.find(hash).map(found -> Replies.ok("ok",
        found.orElseThrow(() -> AdminError.notFound("key not found"))));
  }

  private Future<AdminCall.Response> list(JsonObject body) {
    int offset = whole(body, "offset", 0);
    int limit = whole(body, "limit", DEFAULT_LIMIT);
    // the original's convention: a missing, zero or negative limit is the default, a large one is capped
    int pageSize = limit <= 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT);
    return store.list(Math.max(0, offset), pageSize, KeyInput.search(body)).map(page -> Replies.ok("ok",
        new JsonObject().put("keys", new JsonArray(page.keys())).put("total", page.total())));
  }

  private Future<AdminCall.Response> resetQuota(JsonObject body) {
    String hash = KeyInput.hash(body);
    return store.resetQuota(hash).map(found -> {
      JsonObject record = found.orElseThrow(() -> AdminError.notFound("key not found"));
      changed(hash);
      return Replies.ok("quota reset", record);
    });
  }

  /**
   * {@code {mode: full|incremental, keys: [{key, ...fields}]}}; mode defaults to incremental (it never deletes).
   * Every entry is checked before anything is written, and the writes are one transaction: all or nothing.
   */
  private Future<AdminCall.Response> sync(JsonObject body) {
    Object modeValue = body.getValue("mode", "incremental");
    if (!(modeValue instanceof String mode)
        || !(mode.toLowerCase(Locale.ROOT).equals("full") || mode.toLowerCase(Locale.ROOT).equals("incremental"))) {
      throw AdminError.badRequest("mode must be full or incremental");
    }
    boolean full = mode.equalsIgnoreCase("full");
    Object keysValue = body.getValue("keys");
    if (!(keysValue instanceof JsonArray keys)) {
      throw AdminError.badRequest("keys is required: an array of key objects");
    }
    Map<String, Map<String, Object>> entries = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      if (!(keys.getValue(i) instanceof JsonObject entry)) {
        throw AdminError.badRequest("keys[" + i + "] must be an object");
      }
      String key;
      Map<String, Object> columns;
      try {
        key = KeyInput.key(entry, true);
        columns = KeyInput.columns(entry);
      } catch (AdminError e) {
        throw AdminError.badRequest("keys[" + i + "]: " + e.getMessage());
      }
      if (entries.put(key, columns) != null) {
        throw AdminError.badRequest("keys[" + i + "]: the key appears more than once");
      }
    }
    return store.sync(full, entries).map(result -> {
      if (result.created() + result.updated() + result.deleted() > 0) {
        bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.ALL, true));
      }
      LOG.info("admin {} sync: {} created, {} updated, {} deleted", full ? "full" : "incremental", result.created(),
          result.updated(), result.deleted());
      return Replies.ok("keys synced", new JsonObject().put("mode", full ? "full" : "incremental")
          .put("created", result.created()).put("updated", result.updated()).put("deleted", result.deleted())
          .put("total", entries.size()));
    });
  }

  private static int whole(JsonObject body, String field, int fallback) {
    Object value = body.getValue(field);
    if (value == null) {
      return fallback;
    }
    return (int) WholeNumber.of(value, field, Integer.MIN_VALUE, Integer.MAX_VALUE);
  }

  /** Tells the auth verticle to forget what it cached about this key. */
  private void changed(String hash) {
    bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, hash));
  }
}
