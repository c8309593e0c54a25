package dev.llmproxy.admin.api;

import dev.llmproxy.admin.keys.KeyDigest;
import dev.llmproxy.admin.keys.KeyGenerator;
import dev.llmproxy.admin.keys.KeyStore;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.util.IpRanges;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API, one handler for both ways in (its own port and the proxy's relay over the event bus): client ip,
 * token, endpoint and method checks, then the key operations. Every failure is an answer in the original's shape;
 * only a store that fails gives a 5xx.
 */
public final class AdminApi {

  /** Bodies above this are refused before parsing; key records are small. */
  public static final int MAX_BODY_BYTES = 64 * 1024;
  private static final int DEFAULT_LIMIT = 20;
  private static final int MAX_LIMIT = 100;
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);

  private final String token;
  private final IpRanges allowedIps;
  private final KeyStore store;
  private final KeyGenerator generator;
  private final EventBus bus;
  private final Map<String, Function<JsonObject, Future<AdminCall.Response>>> endpoints;

  public AdminApi(String token, IpRanges allowedIps, KeyStore store, KeyGenerator generator, EventBus bus) {
    this.token = token;
    this.allowedIps = allowedIps;
    this.store = store;
    this.generator = generator;
    this.bus = bus;
    this.endpoints = Map.of(
        "/admin/keys/create", this::create,
        "/admin/keys/update", this::update,
        "/admin/keys/delete", this::delete,
        "/admin/keys/get", this::get,
        "/admin/keys/list", this::list,
        "/admin/keys/reset_quota", this::resetQuota);
  }

  /** Never fails: every outcome, a store failure included, is a response. */
  public Future<AdminCall.Response> handle(AdminCall.Request request) {
    Future<AdminCall.Response> answer;
    try {
      answer = dispatch(request);
    } catch (RuntimeException e) {
      answer = Future.failedFuture(e);
    }
    return answer.recover(failure -> {
      if (failure instanceof AdminError error) {
        return Future.succeededFuture(Replies.error(error.status(), error.getMessage()));
      }
      LOG.error("admin {} failed", request.path(), failure);
      return Future.succeededFuture(Replies.error(503, "key store unavailable"));
    });
  }

  private Future<AdminCall.Response> dispatch(AdminCall.Request request) {
    if (!allowedIps.isEmpty() && !allowedIps.contains(request.clientIp())) {
      throw new AdminError(403, "client address not allowed");
    }
    String given = request.header("X-Admin-Token");
    if (given == null || given.isEmpty()) {
      throw new AdminError(401, "missing X-Admin-Token");
    }
    if (!Secrets.constantTimeEquals(token, given)) {
      throw new AdminError(403, "invalid admin token");
    }
    String path = request.path() == null ? "" : request.path().replaceAll("/+$", "");
    Function<JsonObject, Future<AdminCall.Response>> endpoint = endpoints.get(path);
    if (endpoint == null) {
      throw AdminError.notFound("unknown endpoint: " + path);
    }
    if (!"POST".equalsIgnoreCase(request.method())) {
      throw new AdminError(405, "method not allowed: use POST");
    }
    return endpoint.apply(body(request.body()));
  }

  /** The JSON object of a body; an empty body is an empty object (list needs no fields). */
  static JsonObject body(String text) {
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    if (text.length() > MAX_BODY_BYTES || text.getBytes(StandardCharsets.UTF_8).length > MAX_BODY_BYTES) {
      throw new AdminError(413, "body larger than " + MAX_BODY_BYTES + " bytes");
    }
    Object parsed;
    try {
      parsed = io.vertx.core.json.Json.decodeValue(text);
    } catch (DecodeException e) {
      throw AdminError.badRequest("body is not valid JSON");
    }
    if (!(parsed instanceof JsonObject object)) {
      throw AdminError.badRequest("body must be a JSON object");
    }
    return object;
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
    String hash = KeyDigest.sha256Hex(KeyInput.key(body, true));
    Map<String, Object> columns = KeyInput.columns(body);
    return store.update(hash, columns).map(found -> {
      JsonObject record = found.orElseThrow(() -> AdminError.notFound("key not found"));
      changed(hash);
      return Replies.ok("key updated", record);
    });
  }

  private Future<AdminCall.Response> delete(JsonObject body) {
    String hash = KeyDigest.sha256Hex(KeyInput.key(body, true));
    return store.delete(hash).map(deleted -> {
      if (!deleted) {
        throw AdminError.notFound("key not found");
      }
      changed(hash);
      return Replies.ok("key deleted", null);
    });
  }

  private Future<AdminCall.Response> get(JsonObject body) {
    String hash = KeyDigest.sha256Hex(KeyInput.key(body, true));
    return store.find(hash).map(found -> Replies.ok("ok",
        found.orElseThrow(() -> AdminError.notFound("key not found"))));
  }

  private Future<AdminCall.Response> list(JsonObject body) {
    int offset = whole(body, "offset", 0);
    int limit = whole(body, "limit", DEFAULT_LIMIT);
    // the original's convention: a missing, zero or negative limit is the default, a large one is capped
    int pageSize = limit <= 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT);
    return store.list(Math.max(0, offset), pageSize).map(page -> Replies.ok("ok",
        new JsonObject().put("keys", new JsonArray(page.keys())).put("total", page.total())));
  }

  private Future<AdminCall.Response> resetQuota(JsonObject body) {
    String hash = KeyDigest.sha256Hex(KeyInput.key(body, true));
    return store.resetQuota(hash).map(found -> {
      JsonObject record = found.orElseThrow(() -> AdminError.notFound("key not found"));
      changed(hash);
      return Replies.ok("quota reset", record);
    });
  }

  private static int whole(JsonObject body, String field, int fallback) {
    Object value = body.getValue(field);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
        && Math.abs(n.doubleValue()) <= Integer.MAX_VALUE) {
      return n.intValue();
    }
    throw AdminError.badRequest(field + " must be an integer");
  }

  /** Tells the auth verticle to forget what it cached about this key. */
  private void changed(String hash) {
    bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, hash));
  }
}
