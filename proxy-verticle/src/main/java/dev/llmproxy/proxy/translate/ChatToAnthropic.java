package dev.llmproxy.proxy.translate;

import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;

/**
 * An OpenAI chat completions client in front of an Anthropic backend: the request becomes a Messages request
 * ({@code POST /v1/messages}), the answer a {@code chat.completion}, a stream {@code chat.completion.chunk} frames
 * ending on {@code [DONE]}.
 */
public final class ChatToAnthropic {

  private ChatToAnthropic() {
  }

  /** Anthropic requires {@code max_tokens}; this is the gateway's when neither client nor model_overrides set one. */
  public static final int DEFAULT_MAX_TOKENS = 4096;

  /** The Messages request for an OpenAI chat request. */
  public static Buffer request(JsonObject chat, int defaultMaxTokens) {
    JsonObject out = new JsonObject();
    out.put("model", chat.getValue("model"));
    Object maxTokens = chat.getValue("max_completion_tokens", chat.getValue("max_tokens"));
    out.put("max_tokens", maxTokens instanceof Number ? maxTokens : defaultMaxTokens);
    StringBuilder system = new StringBuilder();
    JsonArray messages = new JsonArray();
    for (Object item : array(chat, "messages")) {
      if (!(item instanceof JsonObject message)) {
        throw invalid("each of 'messages' must be an object");
      }
      String role = message.getString("role", "user");
      switch (role) {
        case "system", "developer" -> {
          if (system.length() > 0) {
            system.append("\n\n");
          }
          system.append(text(message.getValue("content")));
        }
        case "assistant" -> append(messages, "assistant", ToolCalls.anthropicBlocks(message, true));
        case "tool", "function" -> append(messages, "user", new JsonArray().add(new JsonObject()
            .put("type", "tool_result")
            .put("tool_use_id", message.getString("tool_call_id", message.getString("name", "")))
            .put("content", text(message.getValue("content")))));
        default -> append(messages, "user", userBlocks(message.getValue("content")));
      }
    }
    if (system.length() > 0) {
      out.put("system", system.toString());
    }
    out.put("messages", messages);
    Object stop = chat.getValue("stop");
    if (stop instanceof String s) {
      out.put("stop_sequences", new JsonArray().add(s));
    } else if (stop instanceof JsonArray a && !a.isEmpty()) {
      out.put("stop_sequences", a);
    }
    if (chat.getValue("temperature") instanceof Number t) {
      // OpenAI's range is 0..2, Anthropic's 0..1.
      out.put("temperature", Math.min(1.0, t.doubleValue()));
    }
    if (chat.getValue("top_p") instanceof Number p) {
      out.put("top_p", p);
    }
    if (Boolean.TRUE.equals(chat.getValue("stream"))) {
      out.put("stream", true);
    }
    if (chat.getValue("user") instanceof String user) {
      out.put("metadata", new JsonObject().put("user_id", user));
    }
    JsonArray tools = new JsonArray();
    for (Object item : array(chat, "tools")) {
      if (item instanceof JsonObject tool && tool.getValue("function") instanceof JsonObject function) {
        JsonObject schema = function.getJsonObject("parameters", new JsonObject().put("type", "object"));
        JsonObject converted = new JsonObject().put("name", function.getString("name")).put("input_schema", schema);
        if (function.getValue("description") instanceof String d) {
          converted.put("description", d);
        }
        tools.add(converted);
      }
    }
    if (!tools.isEmpty()) {
      out.put("tools", tools);
    }
    JsonObject choice = toolChoice(chat.getValue("tool_choice"));
    if (choice != null && Boolean.FALSE.equals(chat.getValue("parallel_tool_calls"))) {
      choice.put("disable_parallel_tool_use", true);
    }
    if (choice != null && !tools.isEmpty()) {
      out.put("tool_choice", choice);
    }
    return out.toBuffer();
  }

  private static JsonObject toolChoice(Object choice) {
    if ("auto".equals(choice)) {
      return new JsonObject().put("type", "auto");
    }
    if ("required".equals(choice)) {
      return new JsonObject().put("type", "any");
    }
    if ("none".equals(choice)) {
      return new JsonObject().put("type", "none");
    }
    if (choice instanceof JsonObject o && o.getValue("function") instanceof JsonObject f) {
      return new JsonObject().put("type", "tool").put("name", f.getString("name"));
    }
    return null;
  }

  /** Anthropic wants turns to alternate: consecutive messages of one role become one. */
  private static void append(JsonArray messages, String role, JsonArray blocks) {
    if (!messages.isEmpty()) {
      JsonObject last = messages.getJsonObject(messages.size() - 1);
      if (role.equals(last.getString("role"))) {
        last.getJsonArray("content").addAll(blocks);
        return;
      }
    }
    messages.add(new JsonObject().put("role", role).put("content", blocks));
  }

  private static JsonArray userBlocks(Object content) {
    JsonArray blocks = new JsonArray();
    if (content instanceof String s) {
      return blocks.add(new JsonObject().put("type", "text").put("text", s));
    }
    if (content instanceof JsonArray parts) {
      for (Object item : parts) {
        if (!(item instanceof JsonObject part)) {
          continue;
        }
        switch (part.getString("type", "")) {
          case "text" -> blocks.add(new JsonObject().put("type", "text").put("text", part.getString("text", "")));
          case "image_url" -> blocks.add(image(part.getValue("image_url")));
          default -> throw invalid("content part type '" + part.getString("type") + "' cannot be sent to an Anthropic backend");
        }
      }
    }
    return blocks;
  }

  /** A data URL becomes a base64 source, any other URL a url source. */
  private static JsonObject image(Object imageUrl) {
    String url = imageUrl instanceof JsonObject o ? o.getString("url", "") : imageUrl instanceof String s ? s : "";
    JsonObject source;
    int comma = url.indexOf(',');
    if (url.startsWith("data:") && comma > 0 && url.substring(0, comma).endsWith(";base64")) {
      String mediaType = url.substring(5, url.indexOf(';'));
      source = new JsonObject().put("type", "base64").put("media_type", mediaType).put("data", url.substring(comma + 1));
    } else {
      source = new JsonObject().put("type", "url").put("url", url);
    }
    return new JsonObject().put("type", "image").put("source", source);
  }

  /** A message's content as text: a string, or its text parts joined. */
  static String text(Object content) {
    if (content instanceof String s) {
      return s;
    }
    StringBuilder out = new StringBuilder();
    if (content instanceof JsonArray parts) {
      for (Object item : parts) {
        if (item instanceof JsonObject part && part.getValue("text") instanceof String t) {
          out.append(t);
        }
      }
    }
    return out.toString();
  }

  static JsonArray array(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value == null) {
      return new JsonArray();
    }
    if (!(value instanceof JsonArray a)) {
      throw invalid("'" + field + "' must be an array");
    }
    return a;
  }

  static GatewayError invalid(String message) {
    return new GatewayError(ErrorKind.INVALID_REQUEST, message);
  }

  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return null;
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }

  /** Anthropic's usage as OpenAI's: cache reads and writes are prompt tokens. */
  static JsonObject usageJson(long prompt, long completion) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
        .put("total_tokens", prompt + completion);
  }

  static long inputTokens(JsonObject usage) {
    return TranslatingTap.number(usage, "input_tokens") + TranslatingTap.number(usage, "cache_creation_input_tokens")
        + TranslatingTap.number(usage, "cache_read_input_tokens");
  }

  /** The answer's way back: Anthropic's message or event stream as OpenAI's chat completion or chunks. */
  public static final class Tap extends TranslatingTap {

    private final boolean includeUsage;
    private final long created = System.currentTimeMillis() / 1000;
    private String id = "chatcmpl-gateway";
    private String model;
    private long prompt;
    private long completion;
    private String finishReason;
    /** Anthropic's content block index → OpenAI's tool call index, for tool_use blocks. */
    private final Map<Integer, Integer> toolIndex = new HashMap<>();
    private boolean done;

    /** @param includeUsage the client asked for the usage chunk ({@code stream_options.include_usage}) */
    public Tap(boolean eventStream, int status, String requestId, String upstreamKey, boolean includeUsage) {
      super(eventStream, status, Dialect.OPENAI, requestId, upstreamKey);
      this.includeUsage = includeUsage;
    }

    @Override
    protected JsonObject answer(JsonObject message) {
      JsonObject reply = ToolCalls.openAiMessage(message.getJsonArray("content", new JsonArray()));
      JsonObject usage = message.getJsonObject("usage", new JsonObject());
      long in = inputTokens(usage);
      long outTokens = TranslatingTap.number(usage, "output_tokens");
      this.usage = new Usage(in, outTokens, in + outTokens);
      return new JsonObject().put("id", message.getString("id", id)).put("object", "chat.completion")
          .put("created", created).put("model", message.getString("model"))
          .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", reply)
              .put("logprobs", null).put("finish_reason", finishReason(message.getString("stop_reason")))))
          .put("usage", usageJson(in, outTokens));
    }

    @Override
    public void frame(String event, String data) {
      JsonObject json;
      try {
        json = new JsonObject(data);
      } catch (DecodeException e) {
        return;
      }
      String type = event != null ? event : json.getString("type", "");
      switch (type) {
        case "message_start" -> {
          JsonObject message = json.getJsonObject("message", new JsonObject());
          id = message.getString("id", id);
          model = message.getString("model");
          prompt = inputTokens(message.getJsonObject("usage"));
          completion = TranslatingTap.number(message.getJsonObject("usage"), "output_tokens");
          chunk(new JsonObject().put("role", "assistant").put("content", ""), null);
        }
        case "content_block_start" -> {
          JsonObject block = json.getJsonObject("content_block", new JsonObject());
          if ("tool_use".equals(block.getString("type"))) {
            int index = toolIndex.size();
            toolIndex.put(json.getInteger("index", 0), index);
            chunk(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", index)
                .put("id", block.getString("id")).put("type", "function")
                .put("function", new JsonObject().put("name", block.getString("name")).put("arguments", "")))), null);
          } else if ("text".equals(block.getString("type")) && !block.getString("text", "").isEmpty()) {
            chunk(new JsonObject().put("content", block.getString("text")), null);
          }
        }
        case "content_block_delta" -> {
          JsonObject delta = json.getJsonObject("delta", new JsonObject());
          switch (delta.getString("type", "")) {
            case "text_delta" -> chunk(new JsonObject().put("content", delta.getString("text", "")), null);
            case "input_json_delta" -> {
              Integer index = toolIndex.get(json.getInteger("index", 0));
              if (index != null) {
                chunk(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", index)
                    .put("function", new JsonObject().put("arguments", delta.getString("partial_json", ""))))), null);
              }
            }
            default -> {
            }
          }
        }
        case "message_delta" -> {
          JsonObject usageDelta = json.getJsonObject("usage");
          if (usageDelta != null) {
            completion = TranslatingTap.number(usageDelta, "output_tokens");
            long in = inputTokens(usageDelta);
            prompt = in > 0 ? in : prompt;
          }
          finishReason = finishReason(json.getJsonObject("delta", new JsonObject()).getString("stop_reason"));
          chunk(new JsonObject(), finishReason == null ? "stop" : finishReason);
        }
        case "message_stop" -> finish();
        case "error" -> {
          streamError(json);
          done = true;
        }
        default -> {
        }
      }
    }

    private void finish() {
      if (done) {
        return;
      }
      done = true;
      usage = new Usage(prompt, completion, prompt + completion);
      if (includeUsage) {
        emit(null, base().put("choices", new JsonArray()).put("usage", usageJson(prompt, completion)));
      }
      emitDone();
    }

    @Override
    protected void streamEnded() {
      // A stream that ended without message_stop is cut: no [DONE], so that the client does not take it as whole.
    }

    private JsonObject base() {
      return new JsonObject().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model);
    }

    private void chunk(JsonObject delta, String finish) {
      emit(null, base().put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
          .put("logprobs", null).put("finish_reason", finish))));
    }
  }
}
