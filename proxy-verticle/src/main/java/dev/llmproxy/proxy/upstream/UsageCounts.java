package dev.llmproxy.proxy.upstream;

/**
 * The token counts of one {@code usage} object as a backend wrote it, in any dialect; -1 for a field it did not
 * carry. OpenAI's {@code prompt_tokens}/{@code completion_tokens} and the {@code input_tokens}/{@code output_tokens}
 * of Anthropic and of OpenAI's Responses API fill the same slots.
 *
 * <p>Anthropic reports a stream's usage in parts ({@code message_start} the input, each {@code message_delta} the
 * cumulative output, perhaps the input again), so a later report overrides only the fields it carries.
 */
record UsageCounts(long input, long output, long cacheCreation, long cacheRead, long total) {

  static final long ABSENT = -1;
  /** A report with a count that is no count (negative, a string, a fraction): treated as no report at all. */
  static final UsageCounts INVALID = new UsageCounts(-2, -2, -2, -2, -2);

  boolean invalid() {
    return this == INVALID;
  }

  UsageCounts overriddenBy(UsageCounts later) {
    return new UsageCounts(pick(later.input, input), pick(later.output, output),
        pick(later.cacheCreation, cacheCreation), pick(later.cacheRead, cacheRead), pick(later.total, total));
  }

  /**
   * As the gateway meters it. Anthropic's {@code input_tokens} leave out the prompt read from or written to its
   * cache ({@code cache_read_input_tokens}, {@code cache_creation_input_tokens}); the prompt is all three, as
   * OpenAI's {@code prompt_tokens} include the cached ones.
   */
  Usage toUsage() {
    long prompt = Math.max(0, input) + Math.max(0, cacheCreation) + Math.max(0, cacheRead);
    long completion = Math.max(0, output);
    return new Usage(prompt, completion, total >= 0 ? total : prompt + completion);
  }

  private static long pick(long later, long earlier) {
    return later >= 0 ? later : earlier;
  }
}
