package dev.llmproxy.proxy.auth;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.AuthConfig;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.limit.QuotaTally;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The proxy's side of {@code llmproxy.auth.check}: finds the client's key, asks the auth verticle, and
 * keeps its decisions for as long as the auth verticle allows, so that a known key costs a map lookup.
 * One instance per proxy verticle instance; the decisions it keeps are the JVM's ({@link AuthDecisionCache}), so a key
 * validated on one event loop is known to every other.
 */
public final class AuthGate {

  /**
   * The longest key the gateway will look at. An unauthenticated client chooses what it sends: without a bound, a few
   * hundred ~1 MB keys filled the decision cache (keyed by the raw key) and the heap. With it, the cache holds at most
   * {@link AuthDecisionCache#MAX_CACHED} keys of this length (about 20 MB per JVM at worst).
   */
  public static final int MAX_KEY_LENGTH = 1024;
  private static final long ASK_TIMEOUT_MS = 10_000;
  private static final String BEARER = "Bearer ";

  private final Vertx vertx;
  private final AuthConfig config;
  /** {@code auth.check}, or its local twin when the launcher deployed auth in this JVM. */
  private final String checkAddress;
  private final List<String> headerNames;
  private final DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(ASK_TIMEOUT_MS);
  /** The JVM's decisions, shared with every other proxy instance. */
  private final AuthDecisionCache cache;
  /** The tokens this JVM relayed per key ({@code auth.quota_enforcement: strict}). */
  private final QuotaTally tally;
  private MessageConsumer<JsonObject> invalidations;

  /**
   * @param checkAddress {@link Addresses#AUTH_CHECK} or {@link Addresses#AUTH_CHECK_LOCAL}
   * @param cache        the decisions of this JVM's proxies
   * @param tally        the tokens this JVM relayed per key since ({@code auth.quota_enforcement: strict})
   */
  public AuthGate(Vertx vertx, AuthConfig config, String checkAddress, AuthDecisionCache cache, QuotaTally tally) {
    this.vertx = vertx;
    this.cache = cache;
    this.tally = tally;
    this.config = config;
    this.checkAddress = checkAddress;
    this.headerNames = config.headerNames();
    if (config.enabled()) {
      // Any change to any key drops every cached decision: rare, and then always right.
      // One key's change (a charge, an edit) drops that key's decision; {"all": true} drops every one.
      invalidations = vertx.eventBus().consumer(Addresses.KEYS_CHANGED, message -> forget(message.body()));
    }
  }

  /** Whether this path needs a key: every path does while auth is on, except those of {@code auth.skip_paths}. */
  public boolean guards(String path) {
    return config.enabled() && !config.skips(path);
  }

  /** The headers as the auth question carries them: the first value of each. */
  public static Map<String, String> firstValues(MultiMap headers) {
    Map<String, String> values = new HashMap<>();
    for (Map.Entry<String, String> header : headers) {
      values.putIfAbsent(header.getKey(), header.getValue());
    }
    return values;
  }

  /** The key from the first configured header that carries one; {@code Authorization} without its scheme. */
  public String keyOf(MultiMap headers) {
    for (String name : headerNames) {
      String value = headers.get(name);
      if (value == null || value.isBlank()) {
        continue;
      }
      if (name.equalsIgnoreCase("Authorization")) {
        return value.regionMatches(true, 0, BEARER, 0, BEARER.length()) ? value.substring(BEARER.length()).trim()
            : value.trim();
      }
      return value.trim();
    }
    return null;
  }

  /** The decision for this request; a failed future is a {@link GatewayError} the client sees. */
  public Future<AuthDecision> check(String key, Supplier<AuthCheck> question) {
    if (key == null) {
      // A missing key is answered as an unknown one (auth.status_codes.not_found), as the auth verticle would.
      var notFound = config.statusCode("not_found");
      return outcome(AuthDecision.deny(notFound.httpCode(), "invalid_api_key", notFound.message()));
    }
    if (key.length() > MAX_KEY_LENGTH) {
      // Refused before it is hashed, sent to the auth verticle or cached.
      var notFound = config.statusCode("not_found");
      return outcome(AuthDecision.deny(notFound.httpCode(), "invalid_api_key",
          "the API key is longer than " + MAX_KEY_LENGTH + " characters"));
    }
    AuthDecision known = known(key);
    if (known != null) {
      return outcome(known);
    }
    long generation = cache.generation();
    return vertx.eventBus().<JsonObject>request(checkAddress, question.get().toJson(), delivery)
        .recover(failure -> Future.failedFuture(new GatewayError(ErrorKind.NOT_READY, 503, "auth_unavailable",
            "authentication is unavailable, try again shortly", failure)))
        .compose(reply -> {
          AuthDecision decision = AuthDecision.fromJson(reply.body());
          if (decision.cacheTtlMs() > 0) {
            long mark = decision.remainingQuota() == null ? 0 : tally.relayed(decision.keyId());
            cache.put(key, KeyHash.sha256Hex(key), decision, mark, generation);
          }
          return outcome(decision);
        });
  }

  /**
   * The cached decision on a key, as it stands now, or null when none is cached (then {@link #check} asks): what
   * most requests need, without a future to wait on.
   */
  public AuthDecision known(String key) {
    if (key == null || key.length() > MAX_KEY_LENGTH) {
      return null;
    }
    AuthDecisionCache.Cached cached = cache.get(key);
    return cached == null ? null : reused(cached);
  }

  /**
   * A cached decision as it stands now. Its quota left is not trusted as it was read: the tokens this JVM relayed
   * for the key since (not yet charged to the store, or charged after the read) are taken off it. A charge to the
   * store drops the decision ({@code keys.changed}), so the next one is read afresh with the charge in it.
   */
  private AuthDecision reused(AuthDecisionCache.Cached cached) {
    AuthDecision decision = cached.decision();
    if (decision.remainingQuota() == null) {
      return decision;
    }
    long since = tally.since(decision.keyId(), cached.mark());
    return since == 0 ? decision : decision.reused(decision.cacheTtlMs(), decision.remainingQuota() - since);
  }

  private static Future<AuthDecision> outcome(AuthDecision decision) {
    if (decision.allow()) {
      return Future.succeededFuture(decision);
    }
    ErrorKind kind = switch (decision.status()) {
      case 401 -> ErrorKind.UNAUTHORIZED;
      case 429 -> ErrorKind.RATE_LIMITED;
      case 503 -> ErrorKind.NOT_READY;
      default -> ErrorKind.FORBIDDEN;
    };
    String message = decision.message() == null || decision.message().isEmpty() ? "access denied" : decision.message();
    return Future.failedFuture(new GatewayError(kind, decision.status(), decision.code(), message, null));
  }

  /** Drops every cached decision of the JVM at once (keys were reloaded). */
  public void forgetDecisions() {
    cache.forgetAll();
  }

  private void forget(JsonObject change) {
    String keyHash = change == null ? null : change.getString(KeyLookup.KEY_HASH);
    if (keyHash == null || change.getBoolean(KeyLookup.ALL, false)) {
      forgetDecisions();
      return;
    }
    cache.forget(keyHash);
  }

  public void close() {
    if (invalidations != null) {
      invalidations.unregister();
    }
  }
}
