package dev.llmproxy.proxy;

import dev.llmproxy.proxy.limit.QuotaTally;
import dev.llmproxy.proxy.upstream.TokenMeter;

/**
 * One request's allowance under {@code auth.quota_enforcement: strict}: the key's quota left (as auth read it, less
 * what this JVM relayed for the key since: {@link QuotaTally}) and the room its TPM limit had when the request was
 * admitted. The request's own tokens (its prompt as the gateway counts it, then its completion as it is relayed)
 * and those of the key's other requests in flight are counted against the quota; only its own against the TPM room.
 */
final class QuotaMeter implements TokenMeter {

  private final QuotaTally tally;
  /** The key's id, when its quota is enforced; null when only a TPM room applies. */
  private final String keyId;
  /** The quota left at {@link #mark}; meaningless when {@code keyId} is null. */
  private final long quotaLeft;
  /** The tally of the key when {@code quotaLeft} was true. */
  private final long mark;
  /** The TPM room of this request, or {@link Long#MAX_VALUE} when no TPM limit applies. */
  private final long tpmRoom;
  /** The tokens of this request counted so far (its prompt once, then its completion). */
  private long own;
  private boolean promptCounted;

  QuotaMeter(QuotaTally tally, String keyId, long quotaLeft, long mark, long tpmRoom) {
    this.tally = tally;
    this.keyId = keyId;
    this.quotaLeft = quotaLeft;
    this.mark = mark;
    this.tpmRoom = tpmRoom;
  }

  /** What this request may still use before it starts: its prompt must fit below it. */
  long allowance() {
    long room = tpmRoom;
    if (keyId != null) {
      room = Math.min(room, quotaLeft - tally.since(keyId, mark));
    }
    return room;
  }

  /** The prompt, counted once when the answer starts (a retried answer does not count it again). */
  void promptRelayed(long promptTokens) {
    if (!promptCounted) {
      promptCounted = true;
      count(promptTokens);
    }
  }

  @Override
  public boolean spend(long tokens) {
    count(tokens);
    if (own >= tpmRoom) {
      return true;
    }
    return keyId != null && tally.since(keyId, mark) >= quotaLeft;
  }

  /** The exchange ended having used {@code totalTokens} (the backend's report, else the estimate): the tally learns it. */
  void settle(long totalTokens) {
    if (keyId != null) {
      tally.add(keyId, totalTokens - own);
    }
    own = totalTokens;
  }

  private void count(long tokens) {
    own += tokens;
    if (keyId != null) {
      tally.add(keyId, tokens);
    }
  }
}
