package dev.llmproxy.launcher;

import static dev.llmproxy.launcher.GatewayQuotaTest.TOKEN;
import static dev.llmproxy.launcher.GatewayQuotaTest.admin;
import static dev.llmproxy.launcher.GatewayQuotaTest.usageTotals;
import static dev.llmproxy.launcher.GatewayQuotaTest.usedQuota;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every inference path bills the same key, whatever its dialect: chat completions, Anthropic's Messages and OpenAI's
 * Responses are charged to a builtin key's {@code used_quota} and stored in its usage, and a used-up key is refused on
 * {@code /v1/messages} in Anthropic's error shape. Anthropic's own Java SDK, as a user has it, calls the gateway.
 * The admin calls are GatewayQuotaTest's.
 */
class GatewayDialectsTest {

  /** MockLlmBackend reports 7 prompt tokens and the asked maximum as completion tokens: 12 a request. */
  private static final int TOKENS_PER_REQUEST = MockLlmBackend.PROMPT_TOKENS + 5;
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String MESSAGES = "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String RESPONSES = "{\"model\":\"mock\",\"max_output_tokens\":5,\"input\":\"hi\"}";

  private static String config(Path dir) {
    return GatewayQuotaTest.builtinKeysWithUsage(dir);
  }

  @Test
  void messagesAndResponsesAreChargedToTheKeyLikeChatAndAUsedUpKeyIsRefusedInAnthropicsShape(@TempDir Path dir)
      throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir))) {
      String key = createKey(gateway, 3L * TOKENS_PER_REQUEST);

      assertEquals(200, gateway.chat(key, CHAT).statusCode());
      awaitUsedQuota(gateway, key, TOKENS_PER_REQUEST);
      HttpResponse<String> message = gateway.post("/v1/messages", MESSAGES, "x-api-key", key,
          "anthropic-version", "2023-06-01", "Content-Type", "application/json");
      assertEquals(200, message.statusCode(), message.body());
      awaitUsedQuota(gateway, key, 2L * TOKENS_PER_REQUEST);
      HttpResponse<String> response = gateway.post("/v1/responses", RESPONSES, "Authorization", "Bearer " + key,
          "Content-Type", "application/json");
      assertEquals(200, response.statusCode(), response.body());
      awaitUsedQuota(gateway, key, 3L * TOKENS_PER_REQUEST);

      JsonObject totals = new JsonObject();
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
        totals.mergeIn(usageTotals(gateway, key));
        return totals.getLong("total_tokens", 0L) == 3L * TOKENS_PER_REQUEST;
      }), "/admin/usage/query counts all three dialects: " + totals);

      HttpResponse<String> refused = gateway.post("/v1/messages", MESSAGES, "x-api-key", key,
          "Content-Type", "application/json");
      JsonObject error = new JsonObject(refused.body());
      assertEquals("error", error.getString("type"), refused.body());
      String expectedType = refused.statusCode() == 429 ? "rate_limit_error" : "permission_error";
      assertTrue(refused.statusCode() == 429 || refused.statusCode() == 403, refused.body());
      assertEquals(expectedType, error.getJsonObject("error").getString("type"));
      assertTrue(refused.headers().firstValue("request-id").isPresent(), "Anthropic's request-id header");
    }
  }

  @Test
  void anthropicsJavaSdkCallsThroughTheGatewayStreamingAndNotAndIsMetered(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir))) {
      String key = createKey(gateway, 1_000_000);
      AnthropicClient client = AnthropicOkHttpClient.builder()
          .baseUrl("http://127.0.0.1:" + gateway.port).apiKey(key).maxRetries(0).build();
      try {
        MessageCreateParams params = MessageCreateParams.builder().model("mock").maxTokens(5).addUserMessage("hi").build();

        Message message = client.messages().create(params);
        assertEquals("tok tok tok tok tok ", message.content().get(0).asText().text());
        assertEquals(MockLlmBackend.PROMPT_TOKENS, message.usage().inputTokens());
        assertEquals(5, message.usage().outputTokens());
        awaitUsedQuota(gateway, key, TOKENS_PER_REQUEST);

        StringBuilder text = new StringBuilder();
        AtomicLong outputTokens = new AtomicLong(-1);
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
          stream.stream().forEach(event -> {
            event.contentBlockDelta().ifPresent(delta -> delta.delta().text().ifPresent(t -> text.append(t.text())));
            event.messageDelta().ifPresent(delta -> outputTokens.set(delta.usage().outputTokens()));
          });
        }
        assertEquals("tok0 tok1 tok2 tok3 tok4 ", text.toString());
        assertEquals(5, outputTokens.get());
        awaitUsedQuota(gateway, key, 2L * TOKENS_PER_REQUEST);

        AnthropicClient stranger = AnthropicOkHttpClient.builder()
            .baseUrl("http://127.0.0.1:" + gateway.port).apiKey("sk-not-a-key-000000000").maxRetries(0).build();
        try {
          UnauthorizedException denied = assertThrows(UnauthorizedException.class, () -> stranger.messages().create(params));
          assertTrue(denied.requestId().isPresent(), "the SDK reads the gateway's request-id");
          assertFalse(denied.apiMessage().orElse("").isEmpty(), "the SDK reads Anthropic's error message");
        } finally {
          stranger.close();
        }
      } finally {
        client.close();
      }
    }
  }

  private static String createKey(RunningGateway gateway, long quota) throws Exception {
    HttpResponse<String> created = admin(gateway, "/admin/keys/create",
        new JsonObject().put("name", "dialects").put("user_id", "u-dialects").put("total_quota", quota));
    assertEquals(200, created.statusCode(), created.body());
    return new JsonObject(created.body()).getJsonObject("data").getString("key");
  }

  private static void awaitUsedQuota(RunningGateway gateway, String key, long expected) {
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> usedQuota(gateway, key) == expected),
        "used_quota reaches " + expected + ", is " + usedQuota(gateway, key));
  }
}
