package dev.llmproxy.proxy.translate;

import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import static dev.llmproxy.proxy.translate.ChatToAnthropic.array;
import static dev.llmproxy.proxy.translate.ChatToAnthropic.invalid;

/**
 * An Anthropic Messages client in front of an OpenAI-compatible backend (llama.cpp, vLLM, an {@code openai}
 * provider): the request becomes a chat completions request, the answer a Messages {@code message}, a stream
 * Anthropic's event sequence ({@code message_start}, {@code content_block_start}, {@code content_block_delta},
 * {@code content_block_stop}, {@code message_delta} with usage, {@code message_stop}).
 */
public final class MessagesToChat {

  private MessagesToChat() {
  }

  /** The chat completions request for a Messages request; a stream asks for the usage chunk. */
  public static Buffer request(JsonObject messages) {
    JsonObject out = new JsonObject();
    out.put("model", messages.getValue("model"));
    if (messages.getValue("max_tokens") instanceof Number max) {
      out.put("max_tokens", max);
    }
    JsonArray chat = new JsonArray();
    Object system = messages.getValue("system");
    if (system != null) {
      chat.add(new JsonObject().put("role", "system").put("content", ChatToAnthropic.text(system)));
    }
    for (Object item : array(messages, "messages")) {
      if (!(item instanceof JsonObject message)) {
        throw invalid("each of 'messages' must be an object");
      }
      if ("assistant".equals(message.getString("role"))) {
        chat.add(assistant(message.getValue("content")));
      } else {
        user(message.getValue("content"), chat);
      }
    }
    out.put("messages", chat);
    if (messages.getValue("stop_sequences") instanceof JsonArray stop && !stop.isEmpty()) {
      out.put("stop", stop);
    }
    for (String field : new String[] {"temperature", "top_p", "top_k"}) {
      if (messages.getValue(field) instanceof Number n) {
        out.put(field, n);
      }
    }
    if (Boolean.TRUE.equals(messages.getValue("stream"))) {
      out.put("stream", true).put("stream_options", new JsonObject().put("include_usage", true));
    }
    if (messages.getValue("metadata") instanceof JsonObject metadata && metadata.getValue("user_id") instanceof String u) {
      out.put("user", u);
    }
    JsonArray tools = new JsonArray();
    for (Object item : array(messages, "tools")) {
      if (item instanceof JsonObject tool && tool.getValue("name") instanceof String name) {
        JsonObject function = new JsonObject().put("name", name)
            .put("parameters", tool.getJsonObject("input_schema", new JsonObject().put("type", "object")));
        if (tool.getValue("description") instanceof String d) {
          function.put("description", d);
        }
        tools.add(new JsonObject().put("type", "function").put("function", function));
      }
    }
    if (!tools.isEmpty()) {
      out.put("tools", tools);
      if (messages.getValue("tool_choice") instanceof JsonObject choice) {
        switch (choice.getString("type", "auto")) {
          case "any" -> out.put("tool_choice", "required");
          case "none" -> out.put("tool_choice", "none");
          case "tool" -> out.put("tool_choice", new JsonObject().put("type", "function")
              .put("function", new JsonObject().put("name", choice.getString("name"))));
          default -> out.put("tool_choice", "auto");
        }
        if (Boolean.TRUE.equals(choice.getValue("disable_parallel_tool_use"))) {
          out.put("parallel_tool_calls", false);
        }
      }
    }
    return out.toBuffer();
  }

  /** A user turn: its tool results become {@code tool} messages (first, as OpenAI wants them), the rest one message. */
  private static void user(Object content, JsonArray chat) {
    if (content instanceof String s) {
      chat.add(new JsonObject().put("role", "user").put("content", s));
      return;
    }
    JsonArray parts = new JsonArray();
    if (content instanceof JsonArray blocks) {
      for (Object item : blocks) {
        if (!(item instanceof JsonObject block)) {
          continue;
        }
        switch (block.getString("type", "")) {
          case "text" -> parts.add(new JsonObject().put("type", "text").put("text", block.getString("text", "")));
          case "image" -> parts.add(image(block.getJsonObject("source", new JsonObject())));
          case "tool_result" -> chat.add(new JsonObject().put("role", "tool")
              .put("tool_call_id", block.getString("tool_use_id")).put("content", ChatToAnthropic.text(block.getValue("content"))));
          default -> throw invalid("content block type '" + block.getString("type") + "' cannot be sent to this backend");
        }
      }
    }
    if (!parts.isEmpty()) {
      boolean onlyText = parts.stream().allMatch(p -> "text".equals(((JsonObject) p).getString("type")));
      chat.add(new JsonObject().put("role", "user").put("content", onlyText ? ChatToAnthropic.text(parts) : parts));
    }
  }

  private static JsonObject image(JsonObject source) {
    String url = "base64".equals(source.getString("type"))
        ? "data:" + source.getString("media_type", "image/png") + ";base64," + source.getString("data", "")
        : source.getString("url", "");
    return new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", url));
  }

  private static JsonObject assistant(Object content) {
    return content instanceof String s ? new JsonObject().put("role", "assistant").put("content", s)
        : ToolCalls.openAiMessage(content instanceof JsonArray blocks ? blocks : new JsonArray());
  }

  static String stopReason(String finishReason) {
    if (finishReason == null) {
      return "end_turn";
    }
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  static String messageId(String chatId) {
    return chatId == null ? "msg_gateway" : chatId.startsWith("msg_") ? chatId : "msg_" + chatId;
  }

  /** The answer's way back: a chat completion or its chunks as Anthropic's message or event sequence. */
  public static final class Tap extends ChatStreamTap {

    private final String requestedModel;
    private boolean started;
    /** The open content block's index, -1 when none is open; its kind and, for a tool call, OpenAI's index. */
    private int blockIndex = -1;
    private boolean textBlockOpen;
    private int toolCallOpen = -1;
    private String stopReason;
    private long prompt;
    private long completion;

    public Tap(boolean eventStream, int status, String requestId, String upstreamKey, String requestedModel) {
      super(eventStream, status, Dialect.ANTHROPIC, requestId, upstreamKey);
      this.requestedModel = requestedModel;
    }

    @Override
    protected JsonObject answer(JsonObject completionJson) {
      JsonObject choice = completionJson.getJsonArray("choices", new JsonArray()).isEmpty() ? new JsonObject()
          : completionJson.getJsonArray("choices").getJsonObject(0);
      JsonArray content = ToolCalls.anthropicBlocks(choice.getJsonObject("message", new JsonObject()), false);
      JsonObject usageJson = completionJson.getJsonObject("usage", new JsonObject());
      long in = number(usageJson, "prompt_tokens");
      long out = number(usageJson, "completion_tokens");
      usage = new Usage(in, out, in + out);
      return new JsonObject().put("id", messageId(completionJson.getString("id"))).put("type", "message")
          .put("role", "assistant").put("model", completionJson.getString("model", requestedModel))
          .put("content", content).put("stop_reason", stopReason(choice.getString("finish_reason")))
          .put("stop_sequence", null)
          .put("usage", new JsonObject().put("input_tokens", in).put("output_tokens", out));
    }

    @Override
    protected void chunk(JsonObject json) {
      start(json);
      if (json.getValue("usage") instanceof JsonObject u) {
        prompt = number(u, "prompt_tokens");
        completion = number(u, "completion_tokens");
      }
      JsonArray choices = json.getJsonArray("choices", new JsonArray());
      if (choices.isEmpty() || !(choices.getValue(0) instanceof JsonObject choice)) {
        return;
      }
      JsonObject delta = choice.getJsonObject("delta", new JsonObject());
      if (delta.getValue("content") instanceof String text && !text.isEmpty()) {
        if (!textBlockOpen) {
          open(new JsonObject().put("type", "text").put("text", ""));
          textBlockOpen = true;
        }
        emit("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", blockIndex)
            .put("delta", new JsonObject().put("type", "text_delta").put("text", text)));
      }
      for (Object item : delta.getJsonArray("tool_calls", new JsonArray())) {
        if (!(item instanceof JsonObject call)) {
          continue;
        }
        int index = call.getInteger("index", 0);
        JsonObject function = call.getJsonObject("function", new JsonObject());
        if (index != toolCallOpen) {
          open(new JsonObject().put("type", "tool_use").put("id", call.getString("id", "toolu_" + index))
              .put("name", function.getString("name", "")).put("input", new JsonObject()));
          toolCallOpen = index;
        }
        String arguments = function.getString("arguments", "");
        if (!arguments.isEmpty()) {
          emit("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", blockIndex)
              .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", arguments)));
        }
      }
      if (choice.getValue("finish_reason") instanceof String finish) {
        stopReason = stopReason(finish);
      }
    }

    private void start(JsonObject chunk) {
      if (started) {
        return;
      }
      started = true;
      emit("message_start", new JsonObject().put("type", "message_start").put("message", new JsonObject()
          .put("id", messageId(chunk.getString("id"))).put("type", "message").put("role", "assistant")
          .put("model", chunk.getString("model", requestedModel)).put("content", new JsonArray())
          .put("stop_reason", null).put("stop_sequence", null)
          .put("usage", new JsonObject().put("input_tokens", 0).put("output_tokens", 0))));
    }

    /** Closes the open block, if any, and opens the next. */
    private void open(JsonObject block) {
      close();
      blockIndex++;
      emit("content_block_start", new JsonObject().put("type", "content_block_start").put("index", blockIndex)
          .put("content_block", block));
    }

    private void close() {
      if (textBlockOpen || toolCallOpen >= 0) {
        emit("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", blockIndex));
      }
      textBlockOpen = false;
      toolCallOpen = -1;
    }

    @Override
    protected void finish() {
      if (done) {
        return;
      }
      done = true;
      start(new JsonObject());
      close();
      usage = new Usage(prompt, completion, prompt + completion);
      emit("message_delta", new JsonObject().put("type", "message_delta")
          .put("delta", new JsonObject().put("stop_reason", stopReason == null ? "end_turn" : stopReason)
              .put("stop_sequence", null))
          .put("usage", new JsonObject().put("input_tokens", prompt).put("output_tokens", completion)));
      emit("message_stop", new JsonObject().put("type", "message_stop"));
    }

    @Override
    protected void streamEnded() {
      // Some servers end without [DONE]: a stream that gave a finish reason is complete; one without is cut.
      if (!done && stopReason != null) {
        finish();
      }
    }
  }
}
