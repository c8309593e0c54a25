package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.config.RetryConfig;

import java.util.Set;

/** {@code routing.retry}: which failures are retried, how often, and how long to wait before the next try. */
public final class RetryPolicy {

  /** Why an attempt failed before the first byte reached the client; the label of {@code llmproxy_retries_total}. */
  public enum Reason {
    CONNECT_FAILURE("connect_failure"), TIMEOUT("timeout"), RESET("reset"), STATUS("status");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  private final boolean enabled;
  private final int maxRetries;
  private final long initialWaitMs;
  private final long maxWaitMs;
  private final double multiplier;
  private final Set<String> retryOn;

  public RetryPolicy(boolean routingEnabled, RetryConfig config) {
    this.enabled = routingEnabled && config.enabled() && config.maxRetries() > 0;
    this.maxRetries = config.maxRetries();
    this.initialWaitMs = config.initialWait().toMillis();
    this.maxWaitMs = config.maxWait().toMillis();
    this.multiplier = config.multiplier();
    this.retryOn = Set.copyOf(config.retryOn());
  }

  /** @param retriesDone retries already made for this request */
  public boolean allows(int retriesDone, Reason reason, int status) {
    if (!enabled || retriesDone >= maxRetries) {
      return false;
    }
    return switch (reason) {
      case CONNECT_FAILURE -> retryOn.contains("connect_failure");
      case TIMEOUT -> retryOn.contains("timeout");
      // A connection the backend dropped before answering is a connect failure to the user's eyes.
      case RESET -> retryOn.contains("reset") || retryOn.contains("connect_failure");
      case STATUS -> retryOn.contains(Integer.toString(status)) || retryOn.contains(status / 100 + "xx");
    };
  }

  /** Exponential backoff for the n-th retry (1-based), capped at {@code max_wait}. */
  public long backoffMs(int retry) {
    double wait = initialWaitMs * Math.pow(multiplier, retry - 1);
    return (long) Math.min(maxWaitMs, wait);
  }

  public long maxWaitMs() {
    return maxWaitMs;
  }
}
