package dev.llmproxy.proxy.translate;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * An assistant turn in both dialects: Anthropic's content blocks ({@code text}, {@code tool_use} with its input as
 * JSON) and OpenAI's message ({@code content}, {@code tool_calls} with arguments as a JSON string). Requests and
 * answers convert it the same way in both directions.
 */
final class ToolCalls {

  private ToolCalls() {
  }

  /** OpenAI's assistant message for Anthropic's content blocks; thinking blocks have no place in it and are left out. */
  static JsonObject openAiMessage(JsonArray blocks) {
    StringBuilder text = new StringBuilder();
    JsonArray calls = new JsonArray();
    for (Object item : blocks) {
      if (!(item instanceof JsonObject block)) {
        continue;
      }
      switch (block.getString("type", "")) {
        case "text" -> text.append(block.getString("text", ""));
        case "tool_use" -> calls.add(new JsonObject().put("id", block.getString("id")).put("type", "function")
            .put("function", new JsonObject().put("name", block.getString("name"))
                .put("arguments", block.getJsonObject("input", new JsonObject()).encode())));
        default -> {
        }
      }
    }
    JsonObject message = new JsonObject().put("role", "assistant");
    message.put("content", text.length() == 0 && !calls.isEmpty() ? null : text.toString());
    if (!calls.isEmpty()) {
      message.put("tool_calls", calls);
    }
    return message;
  }

  /**
   * Anthropic's content blocks for OpenAI's assistant message.
   *
   * @param strict a tool call's arguments that are not a JSON object are refused (a client's request), rather than
   *               taken as empty (a backend's answer)
   */
  static JsonArray anthropicBlocks(JsonObject message, boolean strict) {
    JsonArray blocks = new JsonArray();
    String text = ChatToAnthropic.text(message.getValue("content"));
    if (!text.isEmpty()) {
      blocks.add(new JsonObject().put("type", "text").put("text", text));
    }
    for (Object item : ChatToAnthropic.array(message, "tool_calls")) {
      if (item instanceof JsonObject call && call.getValue("function") instanceof JsonObject function) {
        blocks.add(new JsonObject().put("type", "tool_use").put("id", call.getString("id"))
            .put("name", function.getString("name")).put("input", arguments(function.getValue("arguments"), strict)));
      }
    }
    return blocks;
  }

  private static JsonObject arguments(Object arguments, boolean strict) {
    if (arguments instanceof JsonObject o) {
      return o;
    }
    if (arguments instanceof String s && !s.isBlank()) {
      try {
        return new JsonObject(s);
      } catch (DecodeException | ClassCastException e) {
        if (strict) {
          throw ChatToAnthropic.invalid("a tool call's 'arguments' is not a JSON object");
        }
      }
    }
    return new JsonObject();
  }
}
