package dev.llmproxy.proxy.limit;

/**
 * What to check for one request: the gateway's limits and the key's (either may be null), the key's counters
 * ({@code keyBucket}: its id, plus what a rate-limit script chose to count separately), the tokens a TPM
 * limit reserves (0 when no TPM applies: then nobody counted them), and the limit of the request's route
 * ({@code rate_limit.routes}; null when its path has none).
 */
public record LimitPlan(Limits global, String keyBucket, Limits key, long reservedTokens, RouteScope route) {

  /** The script said to skip every limit. */
  public static final LimitPlan NONE = new LimitPlan(null, null, null, 0, null);

  public LimitPlan(Limits global, String keyBucket, Limits key, long reservedTokens) {
    this(global, keyBucket, key, reservedTokens, null);
  }

  public boolean limitsAnything() {
    return global != null || key != null || route != null;
  }

  boolean countsTokens() {
    return global != null && global.tokensPerMinute() > 0 || key != null && key.tokensPerMinute() > 0;
  }
}
