package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitConfig;
import dev.llmproxy.common.config.RouteLimitConfig;
import dev.llmproxy.common.tokens.PromptTokens;

import java.util.HashMap;
import java.util.Map;

/**
 * Turns {@code rate_limit}, the key's own numbers and the answer of {@code rate_limit.script} into the
 * {@link LimitPlan} of one request. One per proxy verticle instance (the script's sandbox is not shared).
 *
 * <p>A route's limit ({@code rate_limit.routes}) applies to the one path it names, matched after the normalisation
 * of {@link RouteLimitConfig#normalise} (one trailing {@code /}, case), never to a path below it; it is counted for
 * the request's key, or for its client address when the request has none (auth off, or a path in
 * {@code auth.skip_paths}). A script's {@code skip} skips it too, as every limit.
 */
public final class LimitPlanner {

  private final Limits global;
  private final Limits perKey;
  private final int defaultCompletionTokens;
  private final boolean scripted;
  private final Map<String, RouteLimitConfig> routes = new HashMap<>();
  private RateLimitScript script;

  public LimitPlanner(RateLimitConfig config) {
    this.global = config.enabled() && config.global().enabled() ? Limits.of(config.global()) : null;
    this.perKey = config.enabled() && config.perKey().enabled() ? Limits.of(config.perKey()) : null;
    this.defaultCompletionTokens = config.defaultCompletionTokens();
    this.scripted = config.enabled() && config.script().enabled();
    if (config.enabled()) {
      for (RouteLimitConfig route : config.routes()) {
        routes.put(route.path(), route);
      }
    }
  }

  public void script(RateLimitScript script) {
    this.script = script;
  }

  /** False when no request can ever be limited: the limiter is then not asked at all. */
  public boolean limitsAnything() {
    return global != null && global.limitsAnything() || perKey != null || scripted || !routes.isEmpty();
  }

  public LimitPlan plan(LimitRequest request) {
    Limits key = null;
    if (request.keyId() != null && perKey != null) {
      key = perKey.withKeyOverrides(request.rpm(), request.tpm(), request.maxConcurrent());
    }
    String bucket = request.keyId();
    Limits globalLimits = global != null && global.limitsAnything() ? global : null;
    if (script != null) {
      RateLimitScript.Verdict verdict = script.decide(request, key != null ? key : perKey != null ? perKey : NOTHING);
      if (verdict.skip()) {
        return LimitPlan.NONE;
      }
      if (verdict.limits() != null && (request.keyId() != null || verdict.bucket() != null)) {
        key = verdict.limits();
      }
      if (verdict.bucket() != null) {
        bucket = (request.keyId() == null ? "*" : request.keyId()) + "|" + verdict.bucket();
        if (key == null && perKey != null) {
          key = perKey;
        }
      }
    }
    if (key != null && !key.limitsAnything()) {
      key = null;
    }
    RouteScope route = route(request);
    if (globalLimits == null && key == null && route == null) {
      return LimitPlan.NONE;
    }
    LimitPlan plan = new LimitPlan(globalLimits, key == null ? null : bucket, key, 0, route);
    if (!plan.countsTokens()) {
      return plan;
    }
    PromptTokens prompt = request.prompt().get();
    long completion = prompt.maxCompletionTokens() >= 0 ? prompt.maxCompletionTokens() : defaultCompletionTokens;
    return new LimitPlan(globalLimits, plan.keyBucket(), key, prompt.promptTokens() + completion, route);
  }

  /** The limit of the request's route, or null. */
  private RouteScope route(LimitRequest request) {
    if (routes.isEmpty() || request.path() == null) {
      return null;
    }
    RouteLimitConfig route = routes.get(RouteLimitConfig.normalise(request.path()));
    if (route == null) {
      return null;
    }
    boolean perKey = request.keyId() != null;
    String subject = perKey ? "key:" + request.keyId() : "ip:" + request.clientIp();
    // The rate is not part of the identity: a reload that changes only the number keeps the count.
    String bucket = "route:" + route.per().label() + ":" + route.path() + "|" + subject;
    return new RouteScope(bucket, route.path(), route.per().label(), perKey,
        Limits.perWindow(route.requests(), route.per().window().toMillis()));
  }

  private static final Limits NOTHING = new Limits(0, 0, 0, 0, 0);
}
