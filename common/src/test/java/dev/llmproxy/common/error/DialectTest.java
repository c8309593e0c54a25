package dev.llmproxy.common.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DialectTest {

  @Test
  void everyKindHasTheAnthropicTypeOfItsStatus() {
    Map<ErrorKind, String> expected = Map.ofEntries(
        Map.entry(ErrorKind.INVALID_JSON, "invalid_request_error"),
        Map.entry(ErrorKind.UNAUTHORIZED, "authentication_error"),
        Map.entry(ErrorKind.FORBIDDEN, "permission_error"),
        Map.entry(ErrorKind.MODEL_NOT_FOUND, "not_found_error"),
        Map.entry(ErrorKind.METHOD_NOT_ALLOWED, "invalid_request_error"),
        Map.entry(ErrorKind.PAYLOAD_TOO_LARGE, "request_too_large"),
        Map.entry(ErrorKind.RATE_LIMITED, "rate_limit_error"),
        Map.entry(ErrorKind.INTERNAL, "api_error"),
        Map.entry(ErrorKind.UPSTREAM_FAILED, "api_error"),
        Map.entry(ErrorKind.NO_BACKEND, "overloaded_error"),
        Map.entry(ErrorKind.UPSTREAM_TIMEOUT, "api_error"));
    expected.forEach((kind, type) -> {
      JsonObject body = Dialect.ANTHROPIC.body(new GatewayError(kind, "why"), "req-1").toJsonObject();
      assertEquals("error", body.getString("type"), kind.name());
      assertEquals(type, body.getJsonObject("error").getString("type"), kind.name());
      assertEquals("why", body.getJsonObject("error").getString("message"));
      assertEquals("req-1", body.getString("request_id"));
    });
  }

  @Test
  void anthropicErrorsCarryARequestIdHeaderAndOpenAiOnesKeepTheirShape() {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    Dialect.ANTHROPIC.errorHeaders(headers, "req-2");
    assertEquals("req-2", headers.get("request-id"));
    MultiMap none = MultiMap.caseInsensitiveMultiMap();
    Dialect.OPENAI.errorHeaders(none, "req-2");
    assertNull(none.get("request-id"));
    GatewayError error = new GatewayError(ErrorKind.MODEL_NOT_FOUND, "no such model");
    assertEquals(error.toJson(), Dialect.OPENAI.body(error, "r").toJsonObject());
    assertEquals(error.toJson(), Dialect.OPENAI_RESPONSES.body(error, "r").toJsonObject());
  }

  @Test
  void aBrokenStreamEndsOnTheDialectsErrorFrame() {
    GatewayError error = new GatewayError(ErrorKind.UPSTREAM_FAILED, "broke");
    String anthropic = Dialect.ANTHROPIC.streamErrorFrame(error).toString();
    assertTrue(anthropic.startsWith("event: error\ndata: ") && anthropic.endsWith("\n\n"), anthropic);
    JsonObject data = new JsonObject(anthropic.substring("event: error\ndata: ".length()).trim());
    assertEquals("api_error", data.getJsonObject("error").getString("type"));
    String responses = Dialect.OPENAI_RESPONSES.streamErrorFrame(error).toString();
    JsonObject event = new JsonObject(responses.substring("event: error\ndata: ".length()).trim());
    assertEquals("error", event.getString("type"));
    assertEquals("upstream_error", event.getString("code"));
    String openai = Dialect.OPENAI.streamErrorFrame(error).toString();
    assertEquals("upstream_error", new JsonObject(openai.substring("data: ".length()).trim())
        .getJsonObject("error").getString("code"));
  }
}
