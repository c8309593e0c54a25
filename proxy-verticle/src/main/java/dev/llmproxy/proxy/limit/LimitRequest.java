package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.tokens.PromptTokens;
import io.vertx.core.json.JsonObject;

import java.util.function.Supplier;

/**
 * What the limits of one request depend on. The key fields are null for requests without a key; {@code prompt}
 * is asked only when a TPM limit applies (counting tokens costs). {@code clientIp} (the peer, or what a trusted
 * proxy forwarded) counts a route's limit for a request without a key.
 */
public record LimitRequest(String keyId, String keyName, String userId, JsonObject metadata, Long rpm, Long tpm,
                           Integer maxConcurrent, String model, String path, String method, String clientIp,
                           Supplier<PromptTokens> prompt) {
}
