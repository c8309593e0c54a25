package dev.llmproxy.proxy.limit;

/** A limit a request hit: its name for the client ({@code requests per minute for this key}), and when to retry. */
public record Denial(String limit, long value, long remaining, long retryAfterSeconds) {
}
