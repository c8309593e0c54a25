package dev.llmproxy.proxy.limit;

/** The outcome of a rate-limit check: admitted (then {@link #complete} once the request ends) or denied. */
public interface Admission {

  /** Null when the request was admitted. */
  Denial denial();

  /** The store could not be asked and {@code on_store_error: deny} refused the request. */
  default boolean storeUnavailable() {
    return false;
  }

  /** The tightest per-minute request budget after this request, or null when none applies. */
  Budget requests();

  /** The tightest token budget after this request's reservation, or null when no TPM limit applies. */
  Budget tokens();

  /**
   * Settles the TPM reservation to the tokens the request really used and gives the concurrency slots back.
   * Idempotent: only the first call counts.
   */
  void complete(long usedTokens);

  /** Admitted, with nothing to give back (no limit applied, or the store failed and the policy allows). */
  Admission UNLIMITED = new Decided(null, false);

  static Admission denied(Denial denial) {
    return new Decided(denial, false);
  }

  /** Refused because the store could not be asked and {@code on_store_error: deny}. */
  static Admission storeUnavailable(Denial denial) {
    return new Decided(denial, true);
  }

  /** An outcome that holds nothing: no budget to report, no slot or reservation to give back. */
  record Decided(Denial denial, boolean storeUnavailable) implements Admission {

    @Override
    public Budget requests() {
      return null;
    }

    @Override
    public Budget tokens() {
      return null;
    }

    @Override
    public void complete(long usedTokens) {
    }
  }
}
