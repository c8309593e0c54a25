package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.config.RateLimitConfig;
import dev.llmproxy.common.tokens.PromptTokens;

/**
 * Turns {@code rate_limit}, the key's own numbers and the answer of {@code rate_limit.script} into the
 * {@link LimitPlan} of one request. One per proxy verticle instance (the script's sandbox is not shared).
 */
public final class LimitPlanner {

  private final Limits global;
  private final Limits perKey;
  private final int defaultCompletionTokens;
  private final boolean scripted;
  private RateLimitScript script;

  public LimitPlanner(RateLimitConfig config) {
    this.global = config.enabled() && config.global().enabled() ? Limits.of(config.global()) : null;
    this.perKey = config.enabled() && config.perKey().enabled() ? Limits.of(config.perKey()) : null;
    this.defaultCompletionTokens = config.defaultCompletionTokens();
    this.scripted = config.enabled() && config.script().enabled();
  }

  public void script(RateLimitScript script) {
    this.script = script;
  }

  /** False when no request can ever be limited: the limiter is then not asked at all. */
  public boolean limitsAnything() {
    return global != null && global.limitsAnything() || perKey != null || scripted;
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
    if (globalLimits == null && key == null) {
      return LimitPlan.NONE;
    }
    LimitPlan plan = new LimitPlan(globalLimits, key == null ? null : bucket, key, 0);
    if (!plan.countsTokens()) {
      return plan;
    }
    PromptTokens prompt = request.prompt().get();
    long completion = prompt.maxCompletionTokens() >= 0 ? prompt.maxCompletionTokens() : defaultCompletionTokens;
    return new LimitPlan(globalLimits, plan.keyBucket(), key, prompt.promptTokens() + completion);
  }

  private static final Limits NOTHING = new Limits(0, 0, 0, 0, 0);
}
