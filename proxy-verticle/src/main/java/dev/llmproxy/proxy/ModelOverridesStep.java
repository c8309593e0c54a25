package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ModelOverrides;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * {@code model_overrides}: fills in the request parameters configured for the request's model that the client did
 * not set (the client's value wins), in the body that goes upstream, before the limits (a {@code max_tokens} filled
 * in is what a TPM limit reserves) and the response cache (the key is the request as the backend gets it). After
 * the {@code on_request}/{@code on_auth} hooks, so that a model a hook chose gets its own overrides. In the chain
 * only when {@code model_overrides} has entries.
 */
final class ModelOverridesStep implements ExchangeInterceptor {

  private final ModelOverrides overrides;

  ModelOverridesStep(ModelOverrides overrides) {
    this.overrides = overrides;
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    String model = exchange.inspected.model();
    // Generation requests only: an embeddings request to the same model has no use for max_tokens or temperature.
    if (exchange.endpoint.inference() && exchange.endpoint != Endpoint.EMBEDDINGS && overrides.forModel(model) != null) {
      try {
        JsonObject body = exchange.body.toJsonObject();
        JsonObject filled = overrides.fill(model, body);
        if (filled != body) {
          exchange.replaceBody(filled.toBuffer());
        }
      } catch (DecodeException notAnObject) {
        // The inspection accepted it as a JSON object; nothing to fill in otherwise.
      } catch (GatewayError invalid) {
        return Future.failedFuture(invalid);
      }
    }
    return exchange.sendRequest();
  }
}
