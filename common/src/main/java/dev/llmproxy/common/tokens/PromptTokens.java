package dev.llmproxy.common.tokens;

/**
 * What a request body says about its tokens.
 *
 * @param promptTokens       the prompt as counted by {@link TokenCounter} (messages with their overhead,
 *                           {@code prompt}, {@code input}, tool definitions)
 * @param maxCompletionTokens {@code max_completion_tokens}, else {@code max_tokens}; -1 when the body has neither
 */
public record PromptTokens(long promptTokens, long maxCompletionTokens) {

  public static final PromptTokens NONE = new PromptTokens(0, -1);
}
