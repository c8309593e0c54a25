package dev.llmproxy.proxy.upstream;

/** Token counts as a backend reported them. */
public record Usage(long promptTokens, long completionTokens, long totalTokens) {
}
