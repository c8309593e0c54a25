package dev.llmproxy.proxy;

import dev.llmproxy.proxy.translate.ChatToAnthropic;

/**
 * Values a translation fills in when the client did not set them. {@code max_tokens}, which Anthropic requires:
 * {@value ChatToAnthropic#DEFAULT_MAX_TOKENS} unless {@code model_overrides} gives the model one (the hook the
 * model_overrides work plugs into by implementing this interface).
 */
interface TranslationDefaults {

  TranslationDefaults FIXED = model -> ChatToAnthropic.DEFAULT_MAX_TOKENS;

  int maxTokens(String model);
}
