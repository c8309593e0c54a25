package dev.llmproxy.proxy.limit;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An admitted request that holds something until it ends (a TPM reservation, concurrency slots): its budgets for
 * the response headers, and {@link #settle} run once, whichever of end, abort or failure comes first.
 */
abstract class Admitted implements Admission {

  private final Budget requests;
  private final Budget tokens;
  private final AtomicBoolean completed = new AtomicBoolean();

  Admitted(Budget requests, Budget tokens) {
    this.requests = requests;
    this.tokens = tokens;
  }

  @Override
  public final Denial denial() {
    return null;
  }

  @Override
  public final Budget requests() {
    return requests;
  }

  @Override
  public final Budget tokens() {
    return tokens;
  }

  @Override
  public final void complete(long usedTokens) {
    if (completed.compareAndSet(false, true)) {
      settle(usedTokens);
    }
  }

  /** Settles the reservation to {@code usedTokens} and gives the slots back. Called once. */
  abstract void settle(long usedTokens);
}
