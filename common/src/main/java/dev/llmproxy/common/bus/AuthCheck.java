package dev.llmproxy.common.bus;

import io.vertx.core.json.JsonObject;

import java.util.Map;

/**
 * The proxy's question on {@link Addresses#AUTH_CHECK}: may this key make this request?
 *
 * @param apiKey   the key as the client sent it (the {@code Bearer } prefix removed), null when none was sent
 * @param clientIp the client's address: the peer, or {@code X-Forwarded-For} when the peer is a trusted proxy
 * @param headers  the request's headers (first value each), for Lua scripts and webhooks
 */
public record AuthCheck(String apiKey, String clientIp, String method, String path, String model,
                        Map<String, String> headers) {

  public AuthCheck {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("api_key", apiKey)
        .put("client_ip", clientIp)
        .put("method", method)
        .put("path", path)
        .put("model", model);
    JsonObject headerJson = new JsonObject();
    headers.forEach(headerJson::put);
    return json.put("headers", headerJson);
  }

  public static AuthCheck fromJson(JsonObject json) {
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    json.getJsonObject("headers", new JsonObject()).forEach(e -> headers.put(e.getKey(), String.valueOf(e.getValue())));
    return new AuthCheck(json.getString("api_key"), json.getString("client_ip"), json.getString("method"),
        json.getString("path"), json.getString("model"), headers);
  }
}
