package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ResponseUsage;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.MockAnthropic;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The whole gateway translating between dialects, spoken to with the official SDKs: openai-java in front of an
 * Anthropic provider (MockAnthropic, after Anthropic's documented wire format; it refuses any key but the provider's,
 * read from {@code api_key_env}), a tool-use round trip included; anthropic-java, and openai-java's Responses API, in
 * front of llama.cpp's server (as {@code openai_chat}: chat completions only), streaming and not. Every log line of the run, at debug level, is searched for the upstream key.
 */
class GatewayTranslationTest {

  private static final String UPSTREAM_KEY = "sk-ant-api03-upstream-never-shown-7f3a";
  private static final String CLIENT_KEY = "sk-client-own-key-0000";
  private static final Queue<String> LOG_LINES = new ConcurrentLinkedQueue<>();
  private static final AppenderBase<ILoggingEvent> CAPTURE = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent event) {
      LOG_LINES.add(event.getFormattedMessage()
          + (event.getThrowableProxy() == null ? "" : ThrowableProxyUtil.asString(event.getThrowableProxy())));
    }
  };
  private static Level rootLevel;
  private static Vertx mocks;
  private static MockAnthropic anthropic;
  private static LlamaServer llama;

  @BeforeAll
  static void start() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    rootLevel = root.getLevel();
    root.setLevel(Level.DEBUG);
    CAPTURE.setContext(root.getLoggerContext());
    CAPTURE.start();
    root.addAppender(CAPTURE);
    mocks = Vertx.vertx();
    anthropic = MockAnthropic.start(mocks, UPSTREAM_KEY).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(CAPTURE);
    root.setLevel(rootLevel);
    if (llama != null) {
      llama.close();
    }
    if (mocks != null) {
      mocks.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** @param llamaUrl llama.cpp's server, or an address nothing is sent to (no request asks for {@code tiny}) */
  private static String config(String llamaUrl) {
    return """
        server:
          listen: "{listen}"
        providers:
          - name: claude
            type: anthropic
            base_url: "%s"
            api_key_env: ANTHROPIC_TEST_KEY
            models: ["claude-test"]
        backends:
          - name: llama
            url: "%s"
            models: ["tiny"]
            provider: openai_chat
          - name: mock
            url: "{backend}"
            models: ["mock"]
        """.formatted(anthropic.baseUrl(), llamaUrl);
  }

  private static RunningGateway gateway(Path dir, String llamaUrl) throws Exception {
    return RunningGateway.start(dir, config(llamaUrl), Map.of("ANTHROPIC_TEST_KEY", UPSTREAM_KEY));
  }

  private static void assertKeyInNoLogLine() {
    assertFalse(LOG_LINES.isEmpty(), "the capture saw the run's log");
    for (String line : LOG_LINES) {
      assertFalse(line.contains(UPSTREAM_KEY), "the upstream key in a log line: " + line);
    }
  }

  @Test
  void openAisSdkTalksToAnAnthropicProviderStreamingAndNotWithAToolRoundTrip(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = gateway(dir, "http://127.0.0.1:9")) {
      OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + gateway.port + "/v1")
          .apiKey(CLIENT_KEY).maxRetries(0).build();
      try {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("claude-test")
            .addSystemMessage("be brief").addUserMessage("hello").build();
        ChatCompletion completion = openai.chat().completions().create(params);
        assertEquals(MockAnthropic.TEXT, completion.choices().get(0).message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, completion.choices().get(0).finishReason());
        assertEquals(MockAnthropic.INPUT_TOKENS, completion.usage().orElseThrow().promptTokens());
        assertEquals(MockAnthropic.OUTPUT_TOKENS, completion.usage().orElseThrow().completionTokens());

        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        ChatCompletionCreateParams streamed = params.toBuilder()
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(streamed)) {
          stream.stream().forEach(chunk -> {
            chunks.add(chunk);
            chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
          });
        }
        assertEquals(MockAnthropic.TEXT, text.toString());
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertEquals(MockAnthropic.OUTPUT_TOKENS, last.usage().orElseThrow().completionTokens());

        // A tool call and its result, through the SDK's own types.
        ChatCompletionCreateParams withTool = ChatCompletionCreateParams.builder().model("claude-test")
            .addUserMessage("What is the weather in Paris?")
            .addFunctionTool(FunctionDefinition.builder().name("get_weather").description("the weather in a city")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                    .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                    .build()).build())
            .build();
        ChatCompletion asked = openai.chat().completions().create(withTool);
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, asked.choices().get(0).finishReason());
        ChatCompletionMessageFunctionToolCall call = asked.choices().get(0).message().toolCalls().orElseThrow().get(0)
            .asFunction();
        assertEquals("get_weather", call.function().name());
        assertEquals(MockAnthropic.TOOL_INPUT, new JsonObject(call.function().arguments()));
        ChatCompletion answered = openai.chat().completions().create(withTool.toBuilder()
            .addMessage(asked.choices().get(0).message())
            .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny, 24 C").build())
            .build());
        assertEquals(MockAnthropic.AFTER_TOOL, answered.choices().get(0).message().content().orElseThrow());

        for (MockLlmBackend.Received received : anthropic.received()) {
          assertEquals(UPSTREAM_KEY, received.headers().get("x-api-key"));
          assertFalse(received.headers().toString().contains(CLIENT_KEY), "the client's key never goes upstream");
        }
        HttpResponse<String> config = gateway.get("/admin/config");
        assertFalse(config.body().contains(UPSTREAM_KEY), "/admin/config: " + config.statusCode());
      } finally {
        openai.close();
      }
    }
    assertKeyInNoLogLine();
  }

  @Test
  void anthropicsSdkAndOpenAisResponsesTalkToLlamaCppStreamingAndNotAndTokensAreCountedLocally(@TempDir Path dir) throws Exception {
    llama = LlamaServer.start(List.of("--alias", "tiny"));
    try (RunningGateway gateway = gateway(dir, llama.baseUrl())) {
      AnthropicClient client = AnthropicOkHttpClient.builder().baseUrl("http://127.0.0.1:" + gateway.port)
          .apiKey(CLIENT_KEY).maxRetries(0).build();
      try {
        MessageCreateParams params = MessageCreateParams.builder().model("tiny").maxTokens(8)
            .system("You are terse.").addUserMessage("Say something.").build();
        Message message = client.messages().create(params);
        assertTrue(message.usage().inputTokens() > 0, "llama.cpp's prompt tokens: " + message.usage());
        assertTrue(message.usage().outputTokens() > 0 && message.usage().outputTokens() <= 8, message.usage().toString());
        assertTrue(message.stopReason().isPresent());
        assertEquals("tiny", message.model().asString());

        List<String> events = new ArrayList<>();
        long[] outputTokens = {-1};
        StringBuilder text = new StringBuilder();
        try (com.anthropic.core.http.StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
          stream.stream().forEach(event -> {
            events.add(event.isMessageStart() ? "message_start" : event.isContentBlockStart() ? "content_block_start"
                : event.isContentBlockDelta() ? "content_block_delta" : event.isContentBlockStop() ? "content_block_stop"
                : event.isMessageDelta() ? "message_delta" : event.isMessageStop() ? "message_stop" : "other");
            event.contentBlockDelta().ifPresent(d -> d.delta().text().ifPresent(t -> text.append(t.text())));
            event.messageDelta().ifPresent(d -> outputTokens[0] = d.usage().outputTokens());
          });
        }
        assertEquals("message_start", events.get(0));
        assertEquals(List.of("message_delta", "message_stop"), events.subList(events.size() - 2, events.size()));
        assertFalse(events.contains("other"), events.toString());
        assertTrue(outputTokens[0] > 0 && outputTokens[0] <= 8, "message_delta's usage: " + outputTokens[0]);

        // OpenAI's Responses API in front of the same chat-only server, through openai-java.
        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + gateway.port + "/v1")
            .apiKey(CLIENT_KEY).maxRetries(0).build();
        try {
          ResponseCreateParams asked = ResponseCreateParams.builder().model("tiny").instructions("You are terse.")
              .input("Say something.").maxOutputTokens(8).build();
          Response response = openai.responses().create(asked);
          ResponseUsage usage = response.usage().orElseThrow();
          assertTrue(usage.inputTokens() > 0 && usage.outputTokens() > 0 && usage.outputTokens() <= 8, usage.toString());
          assertFalse(response.output().isEmpty());
          StringBuilder deltas = new StringBuilder();
          long[] completedTokens = {-1};
          try (StreamResponse<ResponseStreamEvent> stream = openai.responses().createStreaming(asked)) {
            stream.stream().forEach(event -> {
              event.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
              event.completed().ifPresent(c -> completedTokens[0] = c.response().usage().orElseThrow().outputTokens());
            });
          }
          assertTrue(completedTokens[0] > 0 && completedTokens[0] <= 8, "response.completed's usage: " + completedTokens[0]);
        } finally {
          openai.close();
        }

        long counted = client.messages().countTokens(MessageCountTokensParams.builder().model("tiny")
            .addUserMessage("Say something.").build()).inputTokens();
        assertTrue(counted > 0, "count_tokens answered by the gateway's tokenizer");
      } finally {
        client.close();
      }
    }
    assertKeyInNoLogLine();
  }
}
