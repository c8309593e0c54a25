package dev.llmproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockAnthropic;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gateway translates between the two dialects, both ways, JSON and streaming: an OpenAI chat client in front of
 * an Anthropic provider (MockAnthropic, shaped after Anthropic's documented Messages API and its SSE events), and an
 * Anthropic Messages client in front of an OpenAI-compatible backend (MockLlmBackend). Usage is metered from either
 * dialect; the provider gets its own key, never the client's; errors come back in the client's shape.
 */
@ExtendWith(VertxExtension.class)
class TranslationTest {

  private static final String UPSTREAM_KEY = "sk-ant-upstream-secret-4242";
  private static final String CLIENT_KEY = "sk-client-key-1111";
  private static final long PROMPT = MockAnthropic.INPUT_TOKENS;
  private static final long OUTPUT = MockAnthropic.OUTPUT_TOKENS;

  private final List<AutoCloseable> servers = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable server : servers) {
      server.close();
    }
  }

  private MockAnthropic anthropic(Vertx vertx) {
    MockAnthropic mock = Http.await(MockAnthropic.start(vertx, UPSTREAM_KEY));
    servers.add(mock);
    return mock;
  }

  private MockLlmBackend openai(Vertx vertx) {
    MockLlmBackend mock = Http.await(MockLlmBackend.start(vertx, 0));
    servers.add(mock);
    return mock;
  }

  private static ProxyHarness proxy(Vertx vertx, JsonArray providers) {
    return Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("providers", providers)));
  }

  private static JsonObject anthropicProvider(String name, String url) {
    return new JsonObject().put("name", name).put("type", "anthropic").put("base_url", url).put("api_key", UPSTREAM_KEY);
  }

  private static Map<String, String> clientHeaders() {
    return Map.of("Content-Type", "application/json", "Authorization", "Bearer " + CLIENT_KEY);
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "claude-test").put("stream", stream)
        .put("messages", new JsonArray()
            .add(new JsonObject().put("role", "system").put("content", "be brief"))
            .add(new JsonObject().put("role", "user").put("content", new JsonArray()
                .add(new JsonObject().put("type", "text").put("text", "hello"))
                .add(new JsonObject().put("type", "image_url").put("image_url", new JsonObject()
                    .put("url", "data:image/png;base64,iVBORw0KGgo="))))))
        .put("stop", "END").put("temperature", 0.5).put("top_p", 0.9);
  }

  private static void assertUsage(UsageRecord record, String path, boolean stream) {
    assertEquals(path, record.endpoint());
    assertEquals(PROMPT, record.promptTokens(), "input plus cache tokens are prompt tokens");
    assertEquals(OUTPUT, record.completionTokens());
    assertEquals(stream, record.stream());
    assertFalse(record.estimated(), "usage read from the provider's answer");
  }

  @Test
  void anOpenAiChatRequestReachesAnAnthropicProviderAsAMessagesRequestWithTheProvidersKey(Vertx vertx) throws Exception {
    MockAnthropic upstream = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(anthropicProvider("claude", upstream.baseUrl())));

    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), chat(false).encode());
    assertEquals(200, answer.status(), answer.text());
    JsonObject completion = answer.json();
    assertEquals("chat.completion", completion.getString("object"));
    JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
    assertEquals(MockAnthropic.TEXT, choice.getJsonObject("message").getString("content"));
    assertEquals("assistant", choice.getJsonObject("message").getString("role"));
    assertEquals("stop", choice.getString("finish_reason"), "end_turn is stop");
    assertEquals(new JsonObject().put("prompt_tokens", PROMPT).put("completion_tokens", OUTPUT)
        .put("total_tokens", PROMPT + OUTPUT), completion.getJsonObject("usage"));
    UsageRecord record = proxy.nextUsage();
    assertUsage(record, "/v1/chat/completions", false);
    assertFalse(record.toString().contains(UPSTREAM_KEY), "the upstream key is in no usage record");

    MockLlmBackend.Received sent = upstream.received().get(0);
    assertEquals("/v1/messages", sent.uri());
    assertEquals(UPSTREAM_KEY, sent.headers().get("x-api-key"));
    assertEquals("2023-06-01", sent.headers().get("anthropic-version"));
    assertNull(sent.headers().get("Authorization"), "the client's key never goes upstream");
    JsonObject body = sent.json();
    assertEquals("be brief", body.getString("system"));
    assertEquals(4096, body.getInteger("max_tokens"), "Anthropic requires max_tokens: the gateway's default");
    assertEquals(new JsonArray().add("END"), body.getJsonArray("stop_sequences"));
    assertEquals(0.5, body.getDouble("temperature"));
    assertEquals(0.9, body.getDouble("top_p"));
    assertEquals(new JsonArray().add(new JsonObject().put("role", "user").put("content", new JsonArray()
        .add(new JsonObject().put("type", "text").put("text", "hello"))
        .add(new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "base64")
            .put("media_type", "image/png").put("data", "iVBORw0KGgo="))))), body.getJsonArray("messages"));
  }

  @Test
  void anAnthropicStreamBecomesChatCompletionChunksEndingOnDoneWithTheUsageChunkWhenAsked(Vertx vertx) throws Exception {
    MockAnthropic upstream = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(anthropicProvider("claude", upstream.baseUrl())));

    JsonObject request = chat(true).put("stream_options", new JsonObject().put("include_usage", true));
    List<JsonObject> chunks = chunks(Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), request.encode()));
    StringBuilder text = new StringBuilder();
    String finish = null;
    JsonObject usage = null;
    for (JsonObject chunk : chunks) {
      assertEquals("chat.completion.chunk", chunk.getString("object"));
      JsonArray choices = chunk.getJsonArray("choices");
      if (choices.isEmpty()) {
        usage = chunk.getJsonObject("usage");
        continue;
      }
      JsonObject delta = choices.getJsonObject(0).getJsonObject("delta");
      text.append(delta.getString("content", ""));
      finish = choices.getJsonObject(0).getString("finish_reason", finish);
    }
    assertEquals(MockAnthropic.TEXT, text.toString());
    assertEquals("stop", finish);
    assertEquals(PROMPT, usage.getLong("prompt_tokens"));
    assertEquals(OUTPUT, usage.getLong("completion_tokens"));
    assertUsage(proxy.nextUsage(), "/v1/chat/completions", true);

    List<JsonObject> unasked = chunks(Http.post(proxy.client, "/v1/chat/completions", clientHeaders(),
        chat(true).encode()));
    assertTrue(unasked.stream().allMatch(c -> !c.getJsonArray("choices").isEmpty()), "no usage chunk unless asked");
    assertUsage(proxy.nextUsage(), "/v1/chat/completions", true);
  }

  /** The chunks of an SSE answer, which must end on {@code [DONE]}. */
  private static List<JsonObject> chunks(Http.Answer answer) {
    assertEquals(200, answer.status(), answer.text());
    assertTrue(answer.headers().get("Content-Type").startsWith("text/event-stream"));
    String text = answer.text();
    assertTrue(text.endsWith("data: [DONE]\n\n"), text);
    List<JsonObject> chunks = new ArrayList<>();
    for (String frame : text.split("\n\n")) {
      assertTrue(frame.startsWith("data: "), frame);
      if (!frame.equals("data: [DONE]")) {
        chunks.add(new JsonObject(frame.substring(6)));
      }
    }
    return chunks;
  }

  @Test
  void aToolCallGoesRoundTripThroughAnAnthropicProviderJsonAndStreaming(Vertx vertx) throws Exception {
    MockAnthropic upstream = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(anthropicProvider("claude", upstream.baseUrl())));
    JsonObject tool = new JsonObject().put("type", "function").put("function", new JsonObject()
        .put("name", "get_weather").put("description", "the weather in a city")
        .put("parameters", new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("city", new JsonObject().put("type", "string")))));
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", "weather in Paris?"));
    JsonObject request = new JsonObject().put("model", "claude-test").put("messages", messages)
        .put("tools", new JsonArray().add(tool)).put("tool_choice", "required");

    JsonObject answer = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), request.encode()).json();
    JsonObject choice = answer.getJsonArray("choices").getJsonObject(0);
    assertEquals("tool_calls", choice.getString("finish_reason"));
    JsonObject call = choice.getJsonObject("message").getJsonArray("tool_calls").getJsonObject(0);
    assertEquals("toolu_01", call.getString("id"));
    assertEquals("get_weather", call.getJsonObject("function").getString("name"));
    assertEquals(MockAnthropic.TOOL_INPUT, new JsonObject(call.getJsonObject("function").getString("arguments")));
    JsonObject sentTools = upstream.received().get(0).json();
    assertEquals(new JsonObject().put("name", "get_weather").put("input_schema", tool.getJsonObject("function")
        .getJsonObject("parameters")).put("description", "the weather in a city"), sentTools.getJsonArray("tools").getJsonObject(0));
    assertEquals(new JsonObject().put("type", "any"), sentTools.getJsonObject("tool_choice"));

    // The client runs the tool and sends its result: Anthropic gets tool_use and tool_result blocks.
    messages.add(choice.getJsonObject("message")).add(new JsonObject().put("role", "tool")
        .put("tool_call_id", "toolu_01").put("content", "sunny"));
    JsonObject second = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), request.encode()).json();
    assertEquals(MockAnthropic.AFTER_TOOL, second.getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getString("content"));
    JsonArray sentMessages = upstream.received().get(1).json().getJsonArray("messages");
    assertEquals(new JsonObject().put("type", "tool_use").put("id", "toolu_01").put("name", "get_weather")
        .put("input", MockAnthropic.TOOL_INPUT), sentMessages.getJsonObject(1).getJsonArray("content").getJsonObject(0));
    assertEquals(new JsonObject().put("type", "tool_result").put("tool_use_id", "toolu_01").put("content", "sunny"),
        sentMessages.getJsonObject(2).getJsonArray("content").getJsonObject(0));

    // Streaming: the tool call arrives as tool_calls deltas whose arguments join to the input.
    messages.remove(2);
    messages.remove(1);
    List<JsonObject> chunks = chunks(Http.post(proxy.client, "/v1/chat/completions", clientHeaders(),
        request.copy().put("stream", true).encode()));
    StringBuilder arguments = new StringBuilder();
    String name = null;
    String finish = null;
    for (JsonObject chunk : chunks) {
      JsonObject c = chunk.getJsonArray("choices").getJsonObject(0);
      finish = c.getString("finish_reason", finish);
      JsonArray calls = c.getJsonObject("delta").getJsonArray("tool_calls");
      if (calls != null) {
        JsonObject function = calls.getJsonObject(0).getJsonObject("function");
        name = function.getString("name", name);
        arguments.append(function.getString("arguments", ""));
        assertEquals(0, calls.getJsonObject(0).getInteger("index"));
      }
    }
    assertEquals("get_weather", name);
    assertEquals(MockAnthropic.TOOL_INPUT, new JsonObject(arguments.toString()));
    assertEquals("tool_calls", finish);
  }

  @Test
  void anAnthropicErrorReachesAnOpenAiClientInOpenAisShapeWithItsStatusAndWithoutTheUpstreamKey(Vertx vertx) throws Exception {
    MockAnthropic upstream = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(anthropicProvider("claude", upstream.baseUrl())));
    Map<String, String> headers = new java.util.HashMap<>(clientHeaders());
    headers.put("X-Mock-Status", "400");
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", headers, chat(false).encode());
    assertEquals(400, answer.status());
    JsonObject error = answer.json().getJsonObject("error");
    assertEquals("invalid_request_error", error.getString("type"));
    assertTrue(error.getString("message").startsWith("mock failure 400"), answer.text());
    assertFalse(answer.text().contains(UPSTREAM_KEY), "the provider quoted its key: masked");
  }

  @Test
  void priorityOrdersProvidersAndAFailingOneFallsBackToTheNext(Vertx vertx) throws Exception {
    MockAnthropic first = anthropic(vertx);
    MockAnthropic second = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray()
        .add(anthropicProvider("second", second.baseUrl()).put("priority", 2))
        .add(anthropicProvider("first", first.baseUrl()).put("priority", 1)));
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), chat(false).encode()).status());
    }
    assertEquals(3, first.received().size(), "the lower priority serves while it is up");
    assertEquals(0, second.received().size());
    proxy.usage.clear();

    first.close();
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), chat(false).encode());
    assertEquals(200, answer.status(), answer.text());
    assertEquals(1, second.received().size(), "the next priority takes over on a connect failure");
  }

  @Test
  void aFailingProvidersFallbackProviderIsTriedBeforeTheNextPriority(Vertx vertx) throws Exception {
    MockAnthropic primary = anthropic(vertx);
    MockAnthropic next = anthropic(vertx);
    MockAnthropic named = anthropic(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray()
        .add(anthropicProvider("primary", primary.baseUrl()).put("priority", 1).put("fallback_provider", "named"))
        .add(anthropicProvider("next", next.baseUrl()).put("priority", 2))
        .add(anthropicProvider("named", named.baseUrl()).put("priority", 3)));
    primary.close();
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(), chat(false).encode());
    assertEquals(200, answer.status(), answer.text());
    assertEquals(1, named.received().size(), "fallback_provider first");
    assertEquals(0, next.received().size());
  }

  @Test
  void anAnthropicClientInFrontOfAnOpenAiBackendGetsAMessageAndTheEventSequenceFrameByFrame(Vertx vertx) throws Exception {
    MockLlmBackend backend = openai(vertx);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
    String body = DialectEndpointsTest.messages("mock", 5, false);

    Http.Answer answer = Http.post(proxy.client, "/v1/messages", Map.of("Content-Type", "application/json"), body);
    assertEquals(200, answer.status(), answer.text());
    JsonObject message = answer.json();
    assertEquals("message", message.getString("type"));
    assertEquals("tok tok tok tok tok ", message.getJsonArray("content").getJsonObject(0).getString("text"));
    assertEquals("max_tokens", message.getString("stop_reason"), "length is max_tokens");
    assertEquals(new JsonObject().put("input_tokens", MockLlmBackend.PROMPT_TOKENS).put("output_tokens", 5),
        message.getJsonObject("usage"));
    JsonObject sent = backend.received().get(0).json();
    assertEquals("/v1/chat/completions", backend.received().get(0).uri());
    assertEquals(new JsonObject().put("role", "system").put("content", "be brief"),
        sent.getJsonArray("messages").getJsonObject(0));
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 5, proxy.nextUsage().totalTokens());

    List<Http.Arrival> arrivals = Http.streamArrivals(proxy.client, "/v1/messages",
        DialectEndpointsTest.messages("mock", 5, true), Map.of("X-Mock-Interval-Ms", "100"));
    String received = Http.joined(arrivals);
    List<String> events = new ArrayList<>();
    for (String frame : received.split("\n\n")) {
      String event = frame.substring(7, frame.indexOf('\n'));
      events.add(event);
      assertEquals(event, new JsonObject(frame.substring(frame.indexOf("data: ") + 6)).getString("type"));
    }
    List<String> expected = new ArrayList<>(List.of("message_start", "content_block_start"));
    for (int i = 0; i < 5; i++) {
      expected.add("content_block_delta");
      assertTrue(received.contains("\"text\":\"tok" + i + " \""), received);
    }
    expected.addAll(List.of("content_block_stop", "message_delta", "message_stop"));
    assertEquals(expected, events);
    assertTrue(received.contains("\"usage\":{\"input_tokens\":" + MockLlmBackend.PROMPT_TOKENS + ",\"output_tokens\":5}"),
        "message_delta carries the usage: " + received);
    DialectEndpointsTest.assertSpreadApart(arrivals, "\"text_delta\"");
    UsageRecord streamed = proxy.nextUsage();
    assertEquals(MockLlmBackend.PROMPT_TOKENS, streamed.promptTokens());
    assertEquals(5, streamed.completionTokens());
    assertFalse(streamed.estimated());
  }

  @Test
  void aRequestThatCannotBeTranslatedIsA400InTheClientsDialect(Vertx vertx) throws Exception {
    MockLlmBackend backend = openai(vertx);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
    String wrongType = new JsonObject().put("model", "mock").put("max_tokens", 5).put("messages", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "image").put("source", "not-an-object"))))).encode();
    Http.Answer answer = Http.post(proxy.client, "/v1/messages", Map.of("Content-Type", "application/json"), wrongType);
    assertEquals(400, answer.status(), answer.text());
    assertEquals("invalid_request_error", answer.json().getJsonObject("error").getString("type"), answer.text());
    assertTrue(answer.json().getJsonObject("error").getString("message").contains("could not be translated"));
    assertFalse(answer.text().contains("java."), "no Java text in a reply");
    assertEquals(0, backend.received().size());
  }

  @Test
  void countTokensIsAnsweredLocallyWhenTheBackendIsNotAnthropic(Vertx vertx) throws Exception {
    MockLlmBackend backend = openai(vertx);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
    String body = DialectEndpointsTest.messages("mock", 5, false);
    Http.Answer counted = Http.post(proxy.client, "/v1/messages/count_tokens", Map.of("Content-Type", "application/json"), body);
    assertEquals(200, counted.status(), counted.text());
    assertEquals(dev.llmproxy.common.tokens.TokenCounter.prompt(body.getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .promptTokens(), counted.json().getLong("input_tokens"));
    assertEquals(0, backend.received().size(), "the backend has no such route: not asked");
    assertNull(proxy.usage.poll(300, TimeUnit.MILLISECONDS), "not metered");
  }

  @Test
  void azureGetsTheModelsDeploymentTheApiVersionAndItsKeyInApiKey(Vertx vertx) throws Exception {
    MockLlmBackend backend = openai(vertx);
    ProxyHarness proxy = proxy(vertx, new JsonArray().add(new JsonObject().put("name", "azure").put("type", "azure_openai")
        .put("base_url", backend.baseUrl()).put("api_key", UPSTREAM_KEY).put("api_version", "2024-10-21")
        .put("deployments", new JsonObject().put("gpt-4o", "my-gpt4o"))));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", clientHeaders(),
        new JsonObject().put("model", "gpt-4o").put("messages", new JsonArray()).encode());
    assertEquals(200, answer.status(), answer.text());
    MockLlmBackend.Received sent = backend.received().get(0);
    assertEquals("/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21", sent.uri());
    assertEquals(UPSTREAM_KEY, sent.headers().get("api-key"));
    assertNull(sent.headers().get("Authorization"), "the client's key never goes upstream");
  }

  @Test
  void theResponsesApiInFrontOfAChatOnlyBackendAnswersTextJsonAndEventsWithUsage(Vertx vertx) throws Exception {
    MockLlmBackend backend = openai(vertx);
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "chat-only").put("url", backend.baseUrl()).put("provider", "openai_chat")))));
    Map<String, String> json = Map.of("Content-Type", "application/json");

    Http.Answer answer = Http.post(proxy.client, "/v1/responses", json, DialectEndpointsTest.responses("mock", 4, false));
    assertEquals(200, answer.status(), answer.text());
    JsonObject response = answer.json();
    assertEquals("response", response.getString("object"));
    assertEquals("incomplete", response.getString("status"), "finish_reason length");
    assertEquals("max_output_tokens", response.getJsonObject("incomplete_details").getString("reason"));
    JsonObject text = response.getJsonArray("output").getJsonObject(0).getJsonArray("content").getJsonObject(0);
    assertEquals("output_text", text.getString("type"));
    assertEquals("tok tok tok tok ", text.getString("text"));
    assertEquals(MockLlmBackend.PROMPT_TOKENS, response.getJsonObject("usage").getInteger("input_tokens"));
    assertEquals(4, response.getJsonObject("usage").getInteger("output_tokens"));
    MockLlmBackend.Received sent = backend.received().get(0);
    assertEquals("/v1/chat/completions", sent.uri());
    assertEquals(new JsonArray().add(new JsonObject().put("role", "system").put("content", "be brief"))
        .add(new JsonObject().put("role", "user").put("content", "count to three")), sent.json().getJsonArray("messages"));
    assertEquals(4, sent.json().getInteger("max_tokens"));
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 4, proxy.nextUsage().totalTokens());

    List<Http.Arrival> arrivals = Http.streamArrivals(proxy.client, "/v1/responses",
        DialectEndpointsTest.responses("mock", 5, true), Map.of("X-Mock-Interval-Ms", "100"));
    String received = Http.joined(arrivals);
    List<String> events = new ArrayList<>();
    StringBuilder deltas = new StringBuilder();
    JsonObject completed = null;
    for (String frame : received.split("\n\n")) {
      String event = frame.substring(7, frame.indexOf('\n'));
      JsonObject data = new JsonObject(frame.substring(frame.indexOf("data: ") + 6));
      assertEquals(event, data.getString("type"));
      assertEquals(events.size(), data.getInteger("sequence_number"));
      events.add(event);
      if (event.equals("response.output_text.delta")) {
        deltas.append(data.getString("delta"));
      }
      if (event.equals("response.completed")) {
        completed = data.getJsonObject("response");
      }
    }
    assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added"), events.subList(0, 4));
    assertEquals(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed"), events.subList(events.size() - 4, events.size()));
    assertEquals("tok0 tok1 tok2 tok3 tok4 ", deltas.toString());
    assertEquals(5, completed.getJsonObject("usage").getInteger("output_tokens"));
    DialectEndpointsTest.assertSpreadApart(arrivals, "\"response.output_text.delta\"");
    UsageRecord streamed = proxy.nextUsage();
    assertEquals(5, streamed.completionTokens());
    assertFalse(streamed.estimated());

    Http.Answer tools = Http.post(proxy.client, "/v1/responses", json, new JsonObject().put("model", "mock")
        .put("input", "hi").put("tools", new JsonArray().add(new JsonObject().put("type", "web_search"))).encode());
    assertEquals(400, tools.status());
    assertTrue(tools.error().getString("message").contains("'tools' is not translated"), tools.text());
  }
}
