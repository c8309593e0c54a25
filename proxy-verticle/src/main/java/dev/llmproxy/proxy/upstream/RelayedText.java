package dev.llmproxy.proxy.upstream;

import dev.llmproxy.common.tokens.TokenCounter;

/**
 * The generated text the client received, kept only to count its tokens when the backend reports no usage.
 * Bounded: past {@link TokenCounter#EXACT_CHARS} characters only the count of characters grows, and the tokens
 * of the rest are estimated from it.
 */
final class RelayedText {

  private final StringBuilder kept = new StringBuilder();
  private long overflowChars;

  void append(String text) {
    int room = TokenCounter.EXACT_CHARS - kept.length();
    if (text.length() <= room) {
      kept.append(text);
    } else {
      if (room > 0) {
        kept.append(text, 0, room);
      }
      overflowChars += text.length() - Math.max(0, room);
    }
  }

  boolean isEmpty() {
    return kept.length() == 0;
  }

  long tokens() {
    return TokenCounter.count(kept) + (overflowChars + TokenCounter.CHARS_PER_TOKEN - 1) / TokenCounter.CHARS_PER_TOKEN;
  }
}
