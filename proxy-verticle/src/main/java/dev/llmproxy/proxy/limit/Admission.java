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
  Admission UNLIMITED = new Admission() {
    @Override
    public Denial denial() {
      return null;
    }

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
  };

  static Admission denied(Denial denial) {
    return new Admission() {
      @Override
      public Denial denial() {
        return denial;
      }

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
    };
  }
}
