package dev.llmproxy.proxy;

import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.proxy.upstream.BodyBytes;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Anthropic's {@code /v1/messages/count_tokens} for a backend that is not Anthropic's: answered by the gateway from
 * its tokenizer (cl100k over the request's text, as the TPM limit counts), since such a backend has no such route.
 */
final class CountTokens {

  private CountTokens() {
  }

  static Future<Void> answer(ApiExchange exchange) {
    long tokens = TokenCounter.prompt(BodyBytes.readOnly(exchange.body)).promptTokens();
    exchange.response.setStatusCode(200)
        .putHeader("Content-Type", "application/json")
        .putHeader("X-Request-ID", exchange.requestId)
        .putHeader("request-id", exchange.requestId)
        .end(new JsonObject().put("input_tokens", tokens).toBuffer());
    exchange.finish(false);
    return ApiExchange.ENDED;
  }
}
