package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code logging.request}, the proxy's side: one JSON message per inference request on
 * {@link Addresses#REQUEST_LOG}, sent after the answer has gone out; the usage module's request log stores it.
 * API keys and credentials in headers are masked; bodies are included only with {@code include_body}, each cut at
 * {@value BodyCapture#LIMIT} bytes (for a stream, the response body is the relayed SSE text).
 */
final class RequestLog {

  private final Vertx vertx;
  private final boolean includeBody;
  /** Lower-case names of headers whose values are credentials. */
  private final Set<String> secretHeaders = new HashSet<>(Set.of("authorization", "proxy-authorization", "x-api-key",
      "api-key", "cookie", "set-cookie", "x-admin-token"));

  RequestLog(Vertx vertx, GatewayConfig config) {
    this.vertx = vertx;
    this.includeBody = config.logging().request().includeBody();
    config.auth().headerNames().forEach(name -> secretHeaders.add(name.toLowerCase(Locale.ROOT)));
  }

  boolean includeBody() {
    return includeBody;
  }

  /** What one inference request looked like once answered; nullable where the request did not get that far. */
  record Entry(HttpServerRequest request, Instant received, String requestId, String clientIp, String apiKey,
      AuthDecision decision, String model, boolean stream, Backend backend, int status, long latencyMs,
      boolean aborted, Buffer requestBody, BodyCapture responseBody) {
  }

  void send(Entry entry) {
    vertx.eventBus().send(Addresses.REQUEST_LOG, message(entry));
  }

  JsonObject message(Entry entry) {
    HttpServerRequest request = entry.request();
    AuthDecision decision = entry.decision();
    JsonObject headers = new JsonObject();
    for (Map.Entry<String, String> header : request.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (!headers.containsKey(name)) {
        headers.put(name, secretHeaders.contains(name) ? masked(header.getValue()) : header.getValue());
      }
    }
    return new JsonObject()
        .put("request_id", entry.requestId())
        .put("timestamp", entry.received().toString())
        .put("client_ip", entry.clientIp())
        .put("method", request.method().name())
        .put("path", request.path())
        .put("headers", headers)
        .put("request_body", includeBody ? BodyCapture.head(entry.requestBody()) : null)
        .put("response_body", includeBody && entry.responseBody() != null ? entry.responseBody().text() : null)
        .put("status_code", entry.status())
        .put("latency_ms", entry.latencyMs())
        .put("backend_url", entry.backend() == null ? null : entry.backend().url())
        .put("api_key", Secrets.mask(entry.apiKey()))
        .put("key_id", decision == null ? null : decision.keyId())
        .put("key_name", decision == null ? null : decision.keyName())
        .put("user_id", decision == null ? null : decision.userId())
        .put("model", entry.model())
        .put("is_stream", entry.stream())
        .put("error", error(entry));
  }

  /** {@code Bearer sk-live-1234abcd} becomes {@code Bearer sk-...abcd}: the scheme stays readable, the secret does not. */
  private static String masked(String value) {
    int space = value.indexOf(' ');
    return space > 0 && space < 16 ? value.substring(0, space + 1) + Secrets.mask(value.substring(space + 1).trim())
        : Secrets.mask(value);
  }

  /** Why the request did not succeed, in words; null when it did. */
  private static String error(Entry entry) {
    if (entry.aborted()) {
      return entry.status() == 499 ? "the client closed the connection before the answer"
          : "the answer was cut off before it was complete";
    }
    return entry.status() >= 400 ? "HTTP " + entry.status() : null;
  }
}
