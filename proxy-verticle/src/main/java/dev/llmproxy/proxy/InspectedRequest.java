package dev.llmproxy.proxy;

import io.vertx.core.buffer.Buffer;

/**
 * What the gateway needs to know of an API request body, and the body to forward.
 *
 * @param forwardBody   the client's bytes unchanged, unless the gateway injected {@code include_usage}
 * @param usageInjected the client did not ask for the usage chunk: the gateway asked for it and must strip it
 * @param promptPrefix  a hash of the prompt's start for {@code load_balance: prefix_aware}, or {@code 0} (none)
 */
public record InspectedRequest(String model, boolean stream, Buffer forwardBody, boolean usageInjected,
    long promptPrefix) {

  public InspectedRequest(String model, boolean stream, Buffer forwardBody, boolean usageInjected) {
    this(model, stream, forwardBody, usageInjected, PromptPrefix.NONE);
  }

  public static InspectedRequest passthrough(Buffer body) {
    return new InspectedRequest(null, false, body, false);
  }
}
