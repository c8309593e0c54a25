package dev.llmproxy.launcher;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole gateway, every verticle deployed, in front of a real llama.cpp server, spoken to with the
 * official OpenAI Java SDK.
 */
class LlamaEndToEndTest {

  private static final int TOKENS = 8;

  private static LlamaServer llama;
  private static Vertx vertx;
  private static PrometheusMeterRegistry registry;
  private static Gateway gateway;
  private static OpenAIClient openai;

  @BeforeAll
  static void start() throws Exception {
    llama = LlamaServer.start(List.of("--alias", "tiny"));
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    JsonObject raw = new JsonObject()
        .put("server", new JsonObject().put("listen", "127.0.0.1:" + port))
        .put("backends", new JsonArray().add(new JsonObject().put("name", "llama").put("url", llama.baseUrl())));
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    registry = Gateway.newRegistry();
    vertx = Gateway.createVertx(registry, loaded.config().metrics());
    gateway = Gateway.start(vertx, loaded.config(), registry).toCompletionStage().toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    openai = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1").apiKey("sk-unused").build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (openai != null) {
      openai.close();
    }
    if (gateway != null) {
      gateway.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (llama != null) {
      llama.close();
    }
  }

  private static ChatCompletionCreateParams.Builder request() {
    return ChatCompletionCreateParams.builder()
        .model("tiny")
        .addUserMessage("Say something.")
        .maxTokens(TOKENS)
        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true));
  }

  private static double completionTokensCounted() {
    return registry.get("llmproxy_usage_tokens").tag("type", "completion").counter().count();
  }

  @Test
  void nonStreamingCompletion() {
    double before = completionTokensCounted();
    ChatCompletion completion = openai.chat().completions().create(request().build());
    assertEquals("tiny", completion.model());
    assertEquals(TOKENS, completion.usage().orElseThrow().completionTokens());
    assertFalse(completion.choices().isEmpty());
    // The gateway counts once the answer has left, so the client may see it first: wait briefly.
    assertTrue(Poll.until(Duration.ofSeconds(2), () -> completionTokensCounted() == before + TOKENS),
        "the gateway read the usage: " + completionTokensCounted() + " instead of " + (before + TOKENS));
  }

  @Test
  void streamingWithoutUsageRequestedStillMetersAndShowsTheClientNoUsageChunk() {
    double before = completionTokensCounted();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(request().build())) {
      stream.stream().forEach(chunks::add);
    }
    assertTrue(chunks.size() >= TOKENS, "chunks: " + chunks.size());
    assertTrue(chunks.stream().allMatch(chunk -> chunk.usage().isEmpty() && !chunk.choices().isEmpty()),
        "the client did not ask for the usage chunk and must not get it");
    assertTrue(Poll.until(Duration.ofSeconds(2), () -> completionTokensCounted() == before + TOKENS),
        "the gateway asked for usage on the client's behalf: " + completionTokensCounted() + " instead of " + (before + TOKENS));
  }

  @Test
  void streamingWithUsageRequestedGetsTheUsageChunk() {
    ChatCompletionCreateParams params = request()
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunks::add);
    }
    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertTrue(last.choices().isEmpty());
    assertEquals(TOKENS, last.usage().orElseThrow().completionTokens());
  }

  @Test
  void manyStreamsInARowSurviveTheServerClosingEachConnection() {
    // llama-server closes the connection after every streamed answer although it advertises keep-alive.
    for (int i = 0; i < 12; i++) {
      try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(request().build())) {
        assertTrue(stream.stream().count() >= TOKENS);
      }
      assertEquals(TOKENS, openai.chat().completions().create(request().build()).usage().orElseThrow().completionTokens());
    }
  }
}
