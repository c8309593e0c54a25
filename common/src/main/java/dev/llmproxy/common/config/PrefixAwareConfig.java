package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code routing.prefix_aware} (ours): the settings of {@code load_balance: prefix_aware}, which sends requests whose
 * prompts start alike to the same backend, so that the engine's prefix cache (vLLM, SGLang, llama.cpp) serves them.
 *
 * @param prefixChars how much of the prompt's start is hashed, in characters of its text (system prompt first, then
 *                    the messages or prompt in order; about four characters a token)
 * @param loadFactor  the prefix's backend is passed over while its load would exceed this many times its weighted
 *                    share of all the eligible backends' load (bounded-load consistent hashing); at least 1
 */
public record PrefixAwareConfig(int prefixChars, double loadFactor) {

  public static final PrefixAwareConfig DEFAULT = new PrefixAwareConfig(2048, 1.25);
  /** Far beyond any system prompt; bounds what the gateway copies out of a body to hash. */
  public static final int MAX_PREFIX_CHARS = 1 << 20;

  static PrefixAwareConfig read(ConfigReader r) {
    return new PrefixAwareConfig(
        r.integer("prefix_chars", DEFAULT.prefixChars),
        r.decimal("load_factor", DEFAULT.loadFactor));
  }

  public JsonObject toJson() {
    return new JsonObject().put("prefix_chars", prefixChars).put("load_factor", loadFactor);
  }
}
