package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Anthropic's Messages API ({@code /v1/messages}) and OpenAI's Responses API ({@code /v1/responses}) are metered,
 * limited and routed by model like chat completions, passed through in their own dialect, and the gateway's own
 * errors on {@code /v1/messages} come in Anthropic's shape with a {@code request-id} header.
 */
@ExtendWith(VertxExtension.class)
class DialectEndpointsTest {

  private static final Map<String, String> JSON = Map.of("Content-Type", "application/json");

  private final List<MockLlmBackend> backends = new ArrayList<>();

  @AfterEach
  void stop() {
    backends.forEach(MockLlmBackend::close);
  }

  private MockLlmBackend backend(Vertx vertx) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, 0));
    backends.add(backend);
    return backend;
  }

  /** The mock speaks Anthropic's Messages API as well as OpenAI's: as an {@code anthropic} backend, Messages pass through. */
  private ProxyHarness proxy(Vertx vertx, JsonObject overrides) {
    return Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "b0").put("url", backend(vertx).baseUrl()).put("provider", "anthropic")))
        .mergeIn(overrides, true)));
  }

  static String messages(String model, int maxTokens, boolean stream) {
    return new JsonObject().put("model", model).put("max_tokens", maxTokens).put("stream", stream)
        .put("system", "be brief")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
            .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", "count to three")))))
        .encode();
  }

  static String responses(String model, int maxTokens, boolean stream) {
    return new JsonObject().put("model", model).put("max_output_tokens", maxTokens).put("stream", stream)
        .put("instructions", "be brief").put("input", "count to three").encode();
  }

  private static long prompt(String body) {
    return TokenCounter.prompt(body.getBytes(StandardCharsets.UTF_8)).promptTokens();
  }

  private static void assertReported(UsageRecord record, String path, int completion, boolean stream) {
    assertEquals(path, record.endpoint());
    assertEquals("mock", record.model());
    assertEquals(MockLlmBackend.PROMPT_TOKENS, record.promptTokens());
    assertEquals(completion, record.completionTokens());
    assertEquals(MockLlmBackend.PROMPT_TOKENS + completion, record.totalTokens());
    assertEquals(stream, record.stream());
    assertFalse(record.estimated());
    assertFalse(record.aborted());
  }

  @Test
  void anthropicAndResponsesAnswersAreMeteredAndPassedThroughUnchanged(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    MockLlmBackend backend = backends.get(0);

    String messagesBody = messages("mock", 4, false);
    Http.Answer message = Http.post(proxy.client, "/v1/messages", JSON, messagesBody);
    assertEquals(200, message.status(), message.text());
    assertEquals(MockLlmBackend.anthropicMessage("mock", 4, true), message.json());
    assertReported(proxy.nextUsage(), "/v1/messages", 4, false);
    assertEquals(messagesBody, backend.received().get(0).body().toString(), "forwarded as the client sent it");

    Http.Answer response = Http.post(proxy.client, "/v1/responses", JSON, responses("mock", 6, false));
    assertEquals(200, response.status(), response.text());
    assertEquals(MockLlmBackend.responsesAnswer("mock", 6, true), response.json());
    assertReported(proxy.nextUsage(), "/v1/responses", 6, false);
  }

  @Test
  void anthropicStreamsPassEveryByteAsItComesAndTheirUsageIsRead(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    String body = messages("mock", 5, true);
    List<Http.Arrival> arrivals = Http.streamArrivals(proxy.client, "/v1/messages", body,
        Map.of("X-Mock-Interval-Ms", "100"));
    String received = Http.joined(arrivals);
    assertTrue(received.startsWith("event: message_start\ndata: "), received);
    assertTrue(received.endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), received);
    for (int i = 0; i < 5; i++) {
      assertTrue(received.contains("\"text\":\"tok" + i + " \""), received);
    }
    assertEquals(body, backends.get(0).received().get(0).body().toString(), "no stream_options injected");
    assertFalse(received.contains("[DONE]"));
    assertSpreadApart(arrivals, "\"text_delta\"");
    assertReported(proxy.nextUsage(), "/v1/messages", 5, true);
  }

  @Test
  void responsesStreamsPassEveryByteAsItComesAndTheirUsageIsRead(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    String body = responses("mock", 5, true);
    List<Http.Arrival> arrivals = Http.streamArrivals(proxy.client, "/v1/responses", body,
        Map.of("X-Mock-Interval-Ms", "100"));
    String received = Http.joined(arrivals);
    assertTrue(received.startsWith("event: response.created\n"), received);
    assertTrue(received.contains("event: response.completed\n"), received);
    assertEquals(body, backends.get(0).received().get(0).body().toString(), "no stream_options injected");
    assertSpreadApart(arrivals, "\"response.output_text.delta\"");
    assertReported(proxy.nextUsage(), "/v1/responses", 5, true);
  }

  /** Five deltas sent 100 ms apart arrived apart: the tap held nothing back (see StreamingProxyTest). */
  static void assertSpreadApart(List<Http.Arrival> arrivals, String marker) {
    List<Long> at = new ArrayList<>();
    for (Http.Arrival arrival : arrivals) {
      int frames = arrival.text().split(marker, -1).length - 1;
      assertTrue(frames <= 1, "two deltas arrived in one chunk: batched");
      if (frames == 1) {
        at.add(arrival.atMs());
      }
    }
    assertEquals(5, at.size());
    assertTrue(at.get(4) - at.get(0) >= 300, "deltas sent over 400 ms arrived within " + (at.get(4) - at.get(0)) + " ms");
  }

  @Test
  void streamsThatReportNoUsageAreEstimatedFromTheRequestAndTheRelayedText(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    Map<String, String> noUsage = Map.of("X-Mock-No-Usage", "1");
    String anthropic = messages("mock", 3, true);
    Http.streamArrivals(proxy.client, "/v1/messages", anthropic, noUsage);
    UsageRecord record = proxy.nextUsage();
    assertTrue(record.estimated());
    assertEquals(prompt(anthropic), record.promptTokens());
    assertTrue(prompt(anthropic) > TokenCounter.count("count to three"), "the system prompt counts too");
    assertEquals(TokenCounter.count("tok0 tok1 tok2 "), record.completionTokens());

    String openai = responses("mock", 3, true);
    Http.streamArrivals(proxy.client, "/v1/responses", openai, noUsage);
    UsageRecord responses = proxy.nextUsage();
    assertTrue(responses.estimated());
    assertEquals(prompt(openai), responses.promptTokens());
    assertEquals(TokenCounter.count("tok0 tok1 tok2 "), responses.completionTokens(), "deltas only, not the .done text");
  }

  @Test
  void anAnthropicStreamThatBreaksEndsOnAnAnthropicErrorEvent(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    String received = Http.joined(Http.streamArrivals(proxy.client, "/v1/messages", messages("mock", 10, true),
        Map.of("X-Mock-Fail-After", "2")));
    String last = received.substring(received.lastIndexOf("event: "));
    assertTrue(last.startsWith("event: error\ndata: "), received);
    JsonObject error = new JsonObject(last.substring("event: error\ndata: ".length()).trim());
    assertEquals("error", error.getString("type"));
    assertEquals("api_error", error.getJsonObject("error").getString("type"));
    UsageRecord record = proxy.nextUsage();
    assertTrue(record.aborted());
    assertTrue(record.estimated());
  }

  @Test
  void tokensPerMinuteReserveAndSettleOnBothDialects(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("rate_limit", new JsonObject().put("enabled", true)
        .put("global", new JsonObject().put("tokens_per_minute", 100))));
    String body = messages("mock", 2, false);
    Http.Answer first = Http.post(proxy.client, "/v1/messages", JSON, body);
    assertEquals(200, first.status());
    assertEquals(Long.toString(100 - prompt(body) - 2), first.headers().get("x-ratelimit-remaining-tokens"),
        "prompt + max_tokens reserved");
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 2, proxy.nextUsage().totalTokens());

    String second = responses("mock", 3, false);
    Http.Answer answered = Http.post(proxy.client, "/v1/responses", JSON, second);
    assertEquals(Long.toString(100 - 9 - prompt(second) - 3), answered.headers().get("x-ratelimit-remaining-tokens"),
        "the first settled to its 9 reported tokens; max_output_tokens reserved");
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 3, proxy.nextUsage().totalTokens());

    Http.Answer refused = Http.post(proxy.client, "/v1/messages", JSON, messages("mock", 90, false));
    assertEquals(429, refused.status());
    assertAnthropicError(refused, "rate_limit_error");
    assertTrue(Long.parseLong(refused.headers().get("Retry-After")) >= 1);
    assertEquals(2, backends.get(0).received().size());
  }

  @Test
  void backendsModelsAreHonouredAndAnUnknownModelIsA404InTheClientsDialect(Vertx vertx) throws Exception {
    MockLlmBackend embed = backend(vertx);
    MockLlmBackend tiny = backend(vertx);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "embed").put("url", embed.baseUrl()).put("models", new JsonArray().add("tiny-embed"))
            .put("provider", "anthropic"))
        .add(new JsonObject().put("name", "tiny").put("url", tiny.baseUrl()).put("models", new JsonArray().add("tiny"))
            .put("provider", "anthropic")))));
    for (int i = 0; i < 4; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/messages", JSON, messages("tiny", 2, false)).status());
      assertEquals(200, Http.post(proxy.client, "/v1/responses", JSON, responses("tiny", 2, false)).status());
      assertEquals(200, Http.post(proxy.client, "/v1/messages/count_tokens", JSON, messages("tiny", 2, false)).status());
    }
    assertEquals(0, embed.received().size(), "a backend that lists only tiny-embed gets no tiny request");
    assertEquals(12, tiny.received().size());

    Http.Answer unknown = Http.post(proxy.client, "/v1/messages", JSON, messages("claude-x", 2, false));
    assertEquals(404, unknown.status());
    assertAnthropicError(unknown, "not_found_error");
    Http.Answer openai = Http.post(proxy.client, "/v1/responses", JSON, responses("claude-x", 2, false));
    assertEquals(404, openai.status());
    assertEquals("model_not_found", openai.error().getString("code"));
    assertNull(openai.headers().get("request-id"), "OpenAI's clients get OpenAI's shape");
  }

  @Test
  void countTokensIsForwardedButNotMetered(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject());
    Http.Answer counted = Http.post(proxy.client, "/v1/messages/count_tokens", JSON, messages("mock", 2, false));
    assertEquals(200, counted.status());
    assertEquals(MockLlmBackend.PROMPT_TOKENS, counted.json().getInteger("input_tokens"));
    assertNull(proxy.usage.poll(300, TimeUnit.MILLISECONDS), "no usage record for a free call");
  }

  @Test
  void theGatewaysOwnErrorsOnMessagesAreInAnthropicsShapeWithARequestId(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      AuthCheck check = AuthCheck.fromJson(message.body());
      message.reply((check.apiKey().equals("sk-allowed-0000000") ? new AuthDecision(true, 200, null, null, "ok", null,
          null, null, null, null, null, null, 0) : AuthDecision.deny(403, "forbidden", "not for you")).toJson());
    });
    MockLlmBackend slow = backend(vertx).answerDelay(3000);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject()
        .put("auth", new JsonObject().put("enabled", true))
        .put("server", new JsonObject().put("max_body_size", 4096))
        .put("backends", new JsonArray()
            .add(new JsonObject().put("name", "slow").put("url", slow.baseUrl()).put("timeout", "300ms")
                .put("models", new JsonArray().add("slow")))
            .add(new JsonObject().put("name", "gone").put("url", "http://127.0.0.1:" + ProxyHarness.freePort())
                .put("models", new JsonArray().add("gone"))))
        .put("routing", new JsonObject().put("retry", new JsonObject().put("max_retries", 0)))));
    Map<String, String> allowed = Map.of("Content-Type", "application/json", "x-api-key", "sk-allowed-0000000");

    assertAnthropicError(Http.post(proxy.client, "/v1/messages", JSON, messages("slow", 2, false)), 401,
        "authentication_error");
    assertAnthropicError(Http.post(proxy.client, "/v1/messages",
        Map.of("Content-Type", "application/json", "x-api-key", "sk-denied-00000000"), messages("slow", 2, false)), 403,
        "permission_error");
    assertAnthropicError(Http.post(proxy.client, "/v1/messages", allowed, "{\"model\":"), 400, "invalid_request_error");
    assertAnthropicError(Http.post(proxy.client, "/v1/messages", allowed,
        messages("slow", 2, false).replace("be brief", "x".repeat(5000))), 413, "request_too_large");
    assertAnthropicError(Http.post(proxy.client, "/v1/messages", allowed, messages("gone", 2, false)), 502, "api_error");
    assertAnthropicError(Http.post(proxy.client, "/v1/messages", allowed, messages("slow", 2, false)), 504, "api_error");
  }

  private static void assertAnthropicError(Http.Answer answer, int status, String type) {
    assertEquals(status, answer.status(), answer.text());
    assertAnthropicError(answer, type);
  }

  /** Anthropic's error shape: {"type":"error","error":{"type","message"},"request_id"} and a request-id header. */
  private static void assertAnthropicError(Http.Answer answer, String type) {
    JsonObject body = answer.json();
    assertEquals("error", body.getString("type"), answer.text());
    assertEquals(type, body.getJsonObject("error").getString("type"), answer.text());
    assertFalse(body.getJsonObject("error").getString("message", "").isEmpty());
    String requestId = answer.headers().get("request-id");
    assertTrue(requestId != null && !requestId.isEmpty(), "request-id header");
    assertEquals(requestId, answer.headers().get("X-Request-ID"));
    assertEquals(requestId, body.getString("request_id"));
  }
}
