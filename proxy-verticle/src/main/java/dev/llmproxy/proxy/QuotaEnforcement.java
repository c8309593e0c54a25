package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.tokens.PromptTokens;
import dev.llmproxy.proxy.limit.Budget;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * {@code auth.quota_enforcement: strict} at admission, once the rate limits have admitted the request: what it may
 * use is the key's quota left (less what this JVM relayed for the key since the decision was read) and the room of
 * its TPM limit, whichever is less.
 * <ul>
 *   <li>A prompt that alone reaches it: refused with {@code auth.status_codes.quota_exceeded} (429 by default).</li>
 *   <li>A stream: relayed and counted as it passes; the relay cuts it when the allowance is spent
 *       ({@link dev.llmproxy.proxy.upstream.QuotaCutTap}).</li>
 *   <li>Any other request: its completion budget ({@code max_completion_tokens}, {@code max_output_tokens} or
 *       {@code max_tokens}, whichever the client used; else the endpoint's usual field) is lowered to what is left
 *       after the prompt, so the backend itself stops there ({@code finish_reason: "length"}). Capping, not refusing:
 *       a request that asks for more than is left usually uses far less, and one that does not is stopped in time.</li>
 * </ul>
 */
final class QuotaEnforcement {

  private QuotaEnforcement() {
  }

  /**
   * Sets the exchange's meter, or refuses it.
   *
   * @param tokens   the TPM budget after this request's reservation, or null when no TPM limit applies
   * @param reserved the tokens the TPM limit reserved for this request
   * @throws GatewayError the client's 429 when nothing is left for this request
   */
  static void admit(ApiExchange exchange, Budget tokens, long reserved) {
    AuthDecision decision = exchange.decision;
    if (!exchange.context.config.auth().strictQuota() || decision == null || !exchange.endpoint.inference()) {
      return;
    }
    Long quotaLeft = decision.remainingQuota();
    long tpmRoom = tokens == null ? Long.MAX_VALUE : Math.max(0, tokens.remaining()) + reserved;
    if (quotaLeft == null && tokens == null) {
      return;
    }
    QuotaMeter meter = new QuotaMeter(exchange.context.environment.quotaTally(),
        quotaLeft == null ? null : decision.keyId(), quotaLeft == null ? 0 : quotaLeft, exchange.quotaMark, tpmRoom);
    PromptTokens prompt = exchange.promptTokens();
    long left = meter.allowance() - prompt.promptTokens();
    if (left <= 0) {
      var quotaExceeded = exchange.context.config.auth().statusCode("quota_exceeded");
      throw new GatewayError(ErrorKind.RATE_LIMITED, quotaExceeded.httpCode(), "quota_exceeded",
          quotaExceeded.message() + ": the key has " + Math.max(0, meter.allowance())
              + " tokens left, and the prompt alone is about " + prompt.promptTokens(), null);
    }
    exchange.quotaMeter = meter;
    if (!exchange.inspected.stream() && exchange.endpoint != Endpoint.EMBEDDINGS
        && (prompt.maxCompletionTokens() < 0 || prompt.maxCompletionTokens() > left)) {
      exchange.replaceBody(capped(exchange.endpoint, exchange.body, left));
    }
  }

  /**
   * The body with its completion budget at most {@code max}: each budget field the client set above it is lowered;
   * with none set, its endpoint's usual field is added.
   */
  private static Buffer capped(Endpoint endpoint, Buffer body, long max) {
    JsonObject json = body.toJsonObject();
    boolean set = false;
    for (String field : new String[] {"max_completion_tokens", "max_output_tokens", "max_tokens"}) {
      if (json.getValue(field) instanceof Number n) {
        set = true;
        if (n.longValue() > max) {
          json.put(field, max);
        }
      }
    }
    if (!set) {
      json.put(endpoint == Endpoint.RESPONSES ? "max_output_tokens" : "max_tokens", max);
    }
    return json.toBuffer();
  }
}
