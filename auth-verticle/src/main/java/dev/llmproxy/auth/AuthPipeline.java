package dev.llmproxy.auth;

import dev.llmproxy.auth.provider.Lookup;
import dev.llmproxy.auth.provider.Provider;
import dev.llmproxy.auth.rules.KeyRecord;
import dev.llmproxy.auth.rules.KeyRules;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.AuthConfig;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the enabled providers in order and applies the decision rules to what they find.
 *
 * <ul>
 *   <li>{@code first_match}: the first provider that finds the key decides (allowed, or refused by the rules or
 *       the provider). Not found or failed: the next is asked. When none found the key and at least one failed,
 *       the answer is 503 {@code auth_unavailable} (the key may live in the store that failed), otherwise 401.</li>
 *   <li>{@code all}: every provider must find and allow the key; the first that does not decides the refusal,
 *       a failure gives 503. The key's fields come from the first provider, metadata is merged.</li>
 * </ul>
 * A failure never lets a key through.
 */
final class AuthPipeline {

  private static final Logger LOG = LoggerFactory.getLogger(AuthPipeline.class);

  /** A decision and how long this verticle may reuse it for the same key and client address. */
  record Checked(AuthDecision decision, long cacheTtlMs) {
  }

  /** One provider's answer after the rules. */
  private record Outcome(Lookup lookup, KeyRules.Verdict verdict, Throwable failure, String provider) {
    boolean found() {
      return lookup instanceof Lookup.Found;
    }
  }

  private final AuthConfig config;
  private final List<Provider> providers;
  private final Decisions decisions;
  private final Clock clock;
  private final boolean requestDependent;

  AuthPipeline(AuthConfig config, List<Provider> providers, Clock clock) {
    this.config = config;
    this.providers = List.copyOf(providers);
    this.decisions = new Decisions(config);
    this.clock = clock;
    this.requestDependent = providers.stream().anyMatch(Provider::dependsOnRequest);
  }

  /** True when some provider's answer depends on the request beyond key and address (a script sees it). */
  boolean requestDependent() {
    return requestDependent;
  }

  Decisions decisions() {
    return decisions;
  }

  Future<Checked> check(AuthCheck check, String keyHash) {
    Instant now = clock.instant();
    if (providers.isEmpty()) {
      return Future.succeededFuture(notFound(check));
    }
    return "all".equals(config.mode())
        ? all(check, keyHash, now, 0, null)
        : firstMatch(check, keyHash, now, 0, false);
  }

  private Future<Checked> firstMatch(AuthCheck check, String keyHash, Instant now, int index, boolean anyFailed) {
    if (index == providers.size()) {
      return Future.succeededFuture(anyFailed ? unavailable() : notFound(check));
    }
    Provider provider = providers.get(index);
    return ask(provider, check, keyHash, now).compose(outcome -> {
      if (outcome.failure() != null) {
        return firstMatch(check, keyHash, now, index + 1, true);
      }
      if (outcome.lookup() instanceof Lookup.NotFound) {
        return firstMatch(check, keyHash, now, index + 1, anyFailed);
      }
      JsonObject record = outcome.lookup() instanceof Lookup.Found found ? found.record() : null;
      return Future.succeededFuture(decide(check, keyHash, now, outcome, record));
    });
  }

  private Future<Checked> all(AuthCheck check, String keyHash, Instant now, int index, Outcome merged) {
    if (index == providers.size()) {
      return Future.succeededFuture(decide(check, keyHash, now, merged, ((Lookup.Found) merged.lookup()).record()));
    }
    return ask(providers.get(index), check, keyHash, now).compose(outcome -> {
      if (outcome.failure() != null) {
        return Future.succeededFuture(unavailable());
      }
      if (outcome.lookup() instanceof Lookup.NotFound) {
        return Future.succeededFuture(notFound(check));
      }
      if (!(outcome.lookup() instanceof Lookup.Found found) || outcome.verdict().denial().isPresent()) {
        return Future.succeededFuture(decide(check, keyHash, now, outcome, null));
      }
      return all(check, keyHash, now, index + 1, merged == null ? outcome : merge(merged, outcome, found));
    });
  }

  /** The first provider's fields win; metadata of later ones fills in; the earliest validity limit holds. */
  private static Outcome merge(Outcome first, Outcome next, Lookup.Found nextFound) {
    JsonObject fields = ((Lookup.Found) first.lookup()).record().copy();
    JsonObject nextMeta = new KeyRecord(nextFound.record()).object("metadata").orElse(null);
    if (nextMeta != null) {
      JsonObject meta = new KeyRecord(fields).object("metadata").orElse(new JsonObject());
      fields.put("metadata", nextMeta.copy().mergeIn(meta));
    }
    Instant a = first.verdict().validUntil();
    Instant b = next.verdict().validUntil();
    Instant until = a == null ? b : b == null ? a : a.isBefore(b) ? a : b;
    return new Outcome(Lookup.found(fields), new KeyRules.Verdict(java.util.Optional.empty(), until,
        first.verdict().dependsOnIp() || next.verdict().dependsOnIp()), null, first.provider());
  }

  private Future<Outcome> ask(Provider provider, AuthCheck check, String keyHash, Instant now) {
    Future<Lookup> lookup;
    try {
      lookup = provider.lookup(check, keyHash);
    } catch (RuntimeException e) {
      lookup = Future.failedFuture(e);
    }
    return lookup.map(answer -> {
      KeyRules.Verdict verdict = answer instanceof Lookup.Found found
          ? KeyRules.evaluate(new KeyRecord(found.record()), check.clientIp(), now)
          : new KeyRules.Verdict(java.util.Optional.empty(), null, false);
      return new Outcome(answer, verdict, null, provider.name());
    }).otherwise(failure -> {
      LOG.warn("auth provider {} failed for key {}: {}", provider.name(), Secrets.mask(check.apiKey()),
          failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage());
      return new Outcome(null, null, failure, provider.name());
    });
  }

  private Checked decide(AuthCheck check, String keyHash, Instant now, Outcome outcome, JsonObject record) {
    if (outcome.lookup() instanceof Lookup.Denied denied) {
      LOG.debug("key {} denied by a provider: {}", Secrets.mask(check.apiKey()), denied.denial().code());
      long ttl = requestDependent ? 0 : config.negativeCacheTtl().toMillis();
      return new Checked(decisions.deny(denied.denial(), denied.message(), ttl), ttl);
    }
    KeyRules.Verdict verdict = outcome.verdict();
    long ttl = verdict.denial().isPresent() ? config.negativeCacheTtl().toMillis() : config.cacheTtl().toMillis();
    if (verdict.validUntil() != null) {
      ttl = Math.min(ttl, Math.max(0, verdict.validUntil().toEpochMilli() - now.toEpochMilli()));
    }
    long ownTtl = requestDependent ? 0 : ttl;
    // The proxy keys its reuse by the key alone: a verdict that looked at the address is not reusable there.
    long proxyTtl = verdict.dependsOnIp() ? 0 : ownTtl;
    if (verdict.denial().isPresent()) {
      LOG.debug("key {} denied: {}", Secrets.mask(check.apiKey()), verdict.denial().get().code());
      return new Checked(decisions.deny(verdict.denial().get(), null, proxyTtl), ownTtl);
    }
    return new Checked(decisions.allow(keyHash, record, outcome.provider(), proxyTtl, now), ownTtl);
  }

  private Checked notFound(AuthCheck check) {
    long ttl = requestDependent ? 0 : config.negativeCacheTtl().toMillis();
    return new Checked(decisions.deny(Denial.NOT_FOUND, null, ttl), ttl);
  }

  private Checked unavailable() {
    return new Checked(decisions.deny(Denial.UNAVAILABLE, null, 0), 0);
  }
}
