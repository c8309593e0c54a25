package dev.llmproxy.proxy.limit;

/** A per-minute limit, what is left of it and when it resets: one {@code x-ratelimit-*} header trio. */
public record Budget(long limit, long remaining, long resetSeconds) {
}
