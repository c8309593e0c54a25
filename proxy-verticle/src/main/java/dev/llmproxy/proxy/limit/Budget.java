package dev.llmproxy.proxy.limit;

/** A per-minute limit, what is left of it and when it resets: one {@code x-ratelimit-*} header trio. */
public record Budget(long limit, long remaining, long resetSeconds) {

  /** The budget a client runs out of first ({@code other} when both have as much left): either may be null. */
  static Budget tighter(Budget one, Budget other) {
    if (one == null) {
      return other;
    }
    return other == null || one.remaining < other.remaining ? one : other;
  }
}
