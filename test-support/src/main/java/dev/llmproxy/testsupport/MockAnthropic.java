package dev.llmproxy.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A server shaped after Anthropic's Messages API as its documentation describes it: {@code POST /v1/messages} answers
 * a {@code message} JSON, or with {@code "stream": true} the event sequence {@code message_start},
 * {@code content_block_start}, {@code ping}, {@code content_block_delta} ({@code text_delta} or
 * {@code input_json_delta}), {@code content_block_stop}, {@code message_delta} (stop reason, cumulative usage),
 * {@code message_stop}, each an {@code event:} line and its {@code data:}. A request with {@code tools} whose last
 * message is not a tool result is answered with a call of its first tool, {@link #TOOL_INPUT} as input; otherwise with
 * {@link #TEXT} ({@link #AFTER_TOOL} after a tool result). It answers an error in Anthropic's shape when the request
 * has {@code X-Mock-Status}, or when its {@code x-api-key} is not the expected one. Usage: {@link #INPUT_TOKENS} input
 * (of which {@link #CACHE_READ_TOKENS} read from cache), {@link #OUTPUT_TOKENS} output.
 */
public final class MockAnthropic implements AutoCloseable {

  public static final String TEXT = "Hello from Claude";
  public static final String AFTER_TOOL = "It is sunny in Paris";
  public static final JsonObject TOOL_INPUT = new JsonObject().put("city", "Paris");
  public static final int INPUT_TOKENS = 11;
  public static final int CACHE_READ_TOKENS = 2;
  public static final int OUTPUT_TOKENS = 5;

  private final Vertx vertx;
  private final String apiKey;
  private HttpServer server;
  private final List<MockLlmBackend.Received> received = new CopyOnWriteArrayList<>();

  private MockAnthropic(Vertx vertx, String apiKey) {
    this.vertx = vertx;
    this.apiKey = apiKey;
  }

  /** @param apiKey the {@code x-api-key} it accepts */
  public static Future<MockAnthropic> start(Vertx vertx, String apiKey) {
    MockAnthropic mock = new MockAnthropic(vertx, apiKey);
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(mock::handle).listen().map(s -> {
          mock.server = s;
          return mock;
        });
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  public List<MockLlmBackend.Received> received() {
    return received;
  }

  private void handle(HttpServerRequest request) {
    request.body().onSuccess(body -> {
      received.add(new MockLlmBackend.Received(request.method().name(), request.uri(), request.headers().copy(), body));
      HttpServerResponse response = request.response();
      if (!request.path().equals("/v1/messages")) {
        error(response, 404, "not_found_error", "Not found: " + request.path());
        return;
      }
      if (!apiKey.equals(request.getHeader("x-api-key"))) {
        error(response, 401, "authentication_error", "invalid x-api-key " + request.getHeader("x-api-key"));
        return;
      }
      if (request.getHeader("anthropic-version") == null) {
        error(response, 400, "invalid_request_error", "anthropic-version header is required");
        return;
      }
      if (request.getHeader("X-Mock-Status") != null) {
        int status = Integer.parseInt(request.getHeader("X-Mock-Status"));
        error(response, status, status == 529 ? "overloaded_error" : "invalid_request_error",
            "mock failure " + status + " for key " + apiKey);
        return;
      }
      JsonObject json = body.toJsonObject();
      if (!(json.getValue("max_tokens") instanceof Number)) {
        error(response, 400, "invalid_request_error", "max_tokens: Field required");
        return;
      }
      JsonArray tools = json.getJsonArray("tools", new JsonArray());
      JsonArray messages = json.getJsonArray("messages", new JsonArray());
      boolean afterTool = lastIsToolResult(messages);
      String model = json.getString("model");
      if (!tools.isEmpty() && !afterTool) {
        String name = tools.getJsonObject(0).getString("name");
        if (json.getBoolean("stream", false)) {
          streamTool(response, model, name);
        } else {
          json(response, message(model, new JsonObject().put("type", "tool_use").put("id", "toolu_01")
              .put("name", name).put("input", TOOL_INPUT), "tool_use"));
        }
        return;
      }
      String text = afterTool ? AFTER_TOOL : TEXT;
      if (json.getBoolean("stream", false)) {
        streamText(response, model, text);
      } else {
        json(response, message(model, new JsonObject().put("type", "text").put("text", text), "end_turn"));
      }
    });
  }

  private static boolean lastIsToolResult(JsonArray messages) {
    if (messages.isEmpty()) {
      return false;
    }
    Object content = messages.getJsonObject(messages.size() - 1).getValue("content");
    return content instanceof JsonArray blocks && blocks.stream()
        .anyMatch(b -> b instanceof JsonObject o && "tool_result".equals(o.getString("type")));
  }

  private static JsonObject usage(int output) {
    return new JsonObject().put("input_tokens", INPUT_TOKENS - CACHE_READ_TOKENS).put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", CACHE_READ_TOKENS).put("output_tokens", output);
  }

  private static JsonObject message(String model, JsonObject block, String stopReason) {
    return new JsonObject().put("id", "msg_01mock").put("type", "message").put("role", "assistant").put("model", model)
        .put("content", new JsonArray().add(block)).put("stop_reason", stopReason).putNull("stop_sequence")
        .put("usage", usage(OUTPUT_TOKENS));
  }

  private static void json(HttpServerResponse response, JsonObject body) {
    response.putHeader("Content-Type", "application/json").putHeader("request-id", "req_mock").end(body.encode());
  }

  private static void error(HttpServerResponse response, int status, String type, String message) {
    response.setStatusCode(status).putHeader("Content-Type", "application/json").end(new JsonObject()
        .put("type", "error").put("error", new JsonObject().put("type", type).put("message", message)).encode());
  }

  private static String event(String name, JsonObject data) {
    return "event: " + name + "\ndata: " + data.encode() + "\n\n";
  }

  private static JsonObject start(String model) {
    return new JsonObject().put("type", "message_start").put("message", new JsonObject().put("id", "msg_01mock")
        .put("type", "message").put("role", "assistant").put("model", model).put("content", new JsonArray())
        .putNull("stop_reason").putNull("stop_sequence").put("usage", usage(1)));
  }

  private static String end(String stopReason) {
    return event("message_delta", new JsonObject().put("type", "message_delta")
        .put("delta", new JsonObject().put("stop_reason", stopReason).putNull("stop_sequence"))
        .put("usage", new JsonObject().put("output_tokens", OUTPUT_TOKENS)))
        + event("message_stop", new JsonObject().put("type", "message_stop"));
  }

  /** Written frame by frame, each its own chunk, as a real stream arrives. */
  private void stream(HttpServerResponse response, List<String> frames) {
    response.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache");
    for (String frame : frames) {
      response.write(frame);
    }
    response.end();
  }

  private void streamText(HttpServerResponse response, String model, String text) {
    int half = text.length() / 2;
    stream(response, List.of(
        event("message_start", start(model)),
        event("content_block_start", new JsonObject().put("type", "content_block_start").put("index", 0)
            .put("content_block", new JsonObject().put("type", "text").put("text", ""))),
        event("ping", new JsonObject().put("type", "ping")),
        textDelta(text.substring(0, half)),
        textDelta(text.substring(half)),
        event("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", 0)),
        end("end_turn")));
  }

  private static String textDelta(String text) {
    return event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", 0)
        .put("delta", new JsonObject().put("type", "text_delta").put("text", text)));
  }

  private void streamTool(HttpServerResponse response, String model, String name) {
    String input = TOOL_INPUT.encode();
    int half = input.length() / 2;
    stream(response, List.of(
        event("message_start", start(model)),
        event("content_block_start", new JsonObject().put("type", "content_block_start").put("index", 0)
            .put("content_block", new JsonObject().put("type", "tool_use").put("id", "toolu_01").put("name", name)
                .put("input", new JsonObject()))),
        jsonDelta(input.substring(0, half)),
        jsonDelta(input.substring(half)),
        event("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", 0)),
        end("tool_use")));
  }

  private static String jsonDelta(String partial) {
    return event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", 0)
        .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", partial)));
  }

  @Override
  /** Returns once the server and its connections are closed: a test that closes it expects connects to fail next. */
  public void close() {
    if (server != null) {
      server.close().await();
    }
  }
}
