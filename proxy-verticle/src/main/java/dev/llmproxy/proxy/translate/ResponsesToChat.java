package dev.llmproxy.proxy.translate;

import static dev.llmproxy.proxy.translate.ChatToAnthropic.invalid;

import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * OpenAI's Responses API ({@code /v1/responses}) in front of a backend that has only chat completions: text in
 * ({@code instructions}, {@code input} as a string or message items with text parts) and text out, JSON or the
 * Responses event stream, with usage. Tools, images and stored conversations ({@code previous_response_id}) are
 * refused with a clear error rather than dropped.
 */
public final class ResponsesToChat {

  private ResponsesToChat() {
  }

  public static Buffer request(JsonObject responses) {
    for (String unsupported : new String[] {"tools", "previous_response_id", "conversation"}) {
      Object value = responses.getValue(unsupported);
      if (value != null && !(value instanceof JsonArray a && a.isEmpty())) {
        throw invalid("'" + unsupported + "' is not translated for a backend without the Responses API");
      }
    }
    JsonObject out = new JsonObject().put("model", responses.getValue("model"));
    JsonArray messages = new JsonArray();
    if (responses.getValue("instructions") instanceof String instructions) {
      messages.add(new JsonObject().put("role", "system").put("content", instructions));
    }
    Object input = responses.getValue("input");
    if (input instanceof String text) {
      messages.add(new JsonObject().put("role", "user").put("content", text));
    } else if (input instanceof JsonArray items) {
      for (Object item : items) {
        if (!(item instanceof JsonObject message) || !"message".equals(message.getString("type", "message"))) {
          throw invalid("only message items with text are translated for a backend without the Responses API");
        }
        String role = message.getString("role", "user");
        messages.add(new JsonObject().put("role", "developer".equals(role) ? "system" : role)
            .put("content", text(message.getValue("content"))));
      }
    } else {
      throw invalid("'input' must be a string or an array of message items");
    }
    out.put("messages", messages);
    if (responses.getValue("max_output_tokens") instanceof Number max) {
      out.put("max_tokens", max);
    }
    for (String field : new String[] {"temperature", "top_p", "user"}) {
      if (responses.getValue(field) != null) {
        out.put(field, responses.getValue(field));
      }
    }
    if (Boolean.TRUE.equals(responses.getValue("stream"))) {
      out.put("stream", true).put("stream_options", new JsonObject().put("include_usage", true));
    }
    return out.toBuffer();
  }

  /** A message item's content: a string, or its text parts ({@code input_text}, {@code output_text}) joined. */
  private static String text(Object content) {
    if (content instanceof JsonArray parts) {
      for (Object part : parts) {
        if (part instanceof JsonObject p && !p.getString("type", "").endsWith("_text")) {
          throw invalid("content part type '" + p.getString("type") + "' is not translated for a backend without "
              + "the Responses API");
        }
      }
    }
    return ChatToAnthropic.text(content);
  }

  /** The answer's way back: a chat completion or its chunks as a Responses object or its event stream. */
  public static final class Tap extends ChatStreamTap {

    private final String requestedModel;
    private final long created = System.currentTimeMillis() / 1000;
    private String id;
    private String model;
    private int sequence;
    private boolean started;
    private String finishReason;
    private long prompt;
    private long completion;
    /** The text so far: Responses' closing events repeat it whole. */
    private final StringBuilder text = new StringBuilder();

    public Tap(boolean eventStream, int status, String requestId, String upstreamKey, String requestedModel) {
      super(eventStream, status, Dialect.OPENAI_RESPONSES, requestId, upstreamKey);
      this.requestedModel = requestedModel;
    }

    @Override
    protected JsonObject answer(JsonObject completionJson) {
      id = completionJson.getString("id", "gateway");
      model = completionJson.getString("model", requestedModel);
      JsonArray choices = completionJson.getJsonArray("choices", new JsonArray());
      JsonObject choice = choices.isEmpty() ? new JsonObject() : choices.getJsonObject(0);
      text.append(ChatToAnthropic.text(choice.getJsonObject("message", new JsonObject()).getValue("content")));
      finishReason = choice.getString("finish_reason");
      JsonObject usageJson = completionJson.getJsonObject("usage", new JsonObject());
      prompt = number(usageJson, "prompt_tokens");
      completion = number(usageJson, "completion_tokens");
      usage = new Usage(prompt, completion, prompt + completion);
      return response(true);
    }

    private String responseId() {
      return id.startsWith("resp_") ? id : "resp_" + id;
    }

    private String itemId() {
      return "msg_" + id;
    }

    private JsonObject part() {
      return new JsonObject().put("type", "output_text").put("text", text.toString()).put("annotations", new JsonArray());
    }

    private JsonObject item(boolean complete) {
      return new JsonObject().put("type", "message").put("id", itemId()).put("status", complete ? "completed" : "in_progress")
          .put("role", "assistant").put("content", complete ? new JsonArray().add(part()) : new JsonArray());
    }

    private JsonObject response(boolean complete) {
      boolean truncated = "length".equals(finishReason);
      JsonObject response = new JsonObject().put("id", responseId()).put("object", "response").put("created_at", created)
          .put("status", !complete ? "in_progress" : truncated ? "incomplete" : "completed")
          .put("model", model).put("output", complete ? new JsonArray().add(item(true)) : new JsonArray());
      if (complete && truncated) {
        response.put("incomplete_details", new JsonObject().put("reason", "max_output_tokens"));
      }
      if (complete) {
        response.put("usage", new JsonObject().put("input_tokens", prompt).put("output_tokens", completion)
            .put("total_tokens", prompt + completion));
      }
      return response;
    }

    private void event(String type, JsonObject data) {
      emit(type, data.put("type", type).put("sequence_number", sequence++));
    }

    private JsonObject at() {
      return new JsonObject().put("item_id", itemId()).put("output_index", 0).put("content_index", 0);
    }

    @Override
    protected void chunk(JsonObject json) {
      if (!started) {
        started = true;
        id = json.getString("id", "gateway");
        model = json.getString("model", requestedModel);
        event("response.created", new JsonObject().put("response", response(false)));
        event("response.in_progress", new JsonObject().put("response", response(false)));
        event("response.output_item.added", new JsonObject().put("output_index", 0).put("item", item(false)));
        event("response.content_part.added", at().put("part", new JsonObject().put("type", "output_text")
            .put("text", "").put("annotations", new JsonArray())));
      }
      if (json.getValue("usage") instanceof JsonObject u) {
        prompt = number(u, "prompt_tokens");
        completion = number(u, "completion_tokens");
      }
      JsonArray choices = json.getJsonArray("choices", new JsonArray());
      if (!choices.isEmpty() && choices.getValue(0) instanceof JsonObject choice) {
        JsonObject delta = choice.getJsonObject("delta", new JsonObject());
        if (delta.getValue("content") instanceof String piece && !piece.isEmpty()) {
          text.append(piece);
          event("response.output_text.delta", at().put("delta", piece));
        }
        if (choice.getValue("finish_reason") instanceof String finish) {
          finishReason = finish;
        }
      }
    }

    @Override
    protected void finish() {
      if (done || !started) {
        return;
      }
      done = true;
      usage = new Usage(prompt, completion, prompt + completion);
      event("response.output_text.done", at().put("text", text.toString()));
      event("response.content_part.done", at().put("part", part()));
      event("response.output_item.done", new JsonObject().put("output_index", 0).put("item", item(true)));
      event("response.completed", new JsonObject().put("response", response(true)));
    }

    @Override
    protected void streamEnded() {
      if (finishReason != null) {
        finish();
      }
    }
  }
}
