package dev.llmproxy.proxy.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.util.Arrays;

/**
 * {@code auth.quota_enforcement: strict} around a stream's tap: what the tap gives the client (in the client's
 * dialect) leaves event by event, each event's generated text counted as it passes (its own text only, with the
 * gateway's {@code TokenCounter}: no text is counted twice) and charged to a {@link TokenMeter}. When the meter says
 * the allowance is spent, the event that spent it is the last one relayed and the stream is closed cleanly in the
 * client's dialect:
 * <ul>
 *   <li>OpenAI chat/completions: a last chunk with {@code finish_reason: "length"}, an error frame with code
 *       {@code quota_exceeded}, then {@code data: [DONE]};</li>
 *   <li>Anthropic Messages: {@code content_block_stop} for an open block, {@code message_delta} with
 *       {@code stop_reason: "max_tokens"} and the output counted, then an {@code error} event;</li>
 *   <li>Responses API: {@code response.incomplete} ({@code incomplete_details.reason: "max_output_tokens"}, the
 *       Responses API's own word for a budget that ran out), then an {@code error} event with code
 *       {@code quota_exceeded}.</li>
 * </ul>
 * The relay then ends the response and resets the backend's request ({@link #cutShort()}). Only an event still
 * arriving is held back (as the usage filter does); a stream that is never cut passes unchanged.
 */
public final class QuotaCutTap implements ResponseTap, SseScanner.Listener {

  public static final String REASON = "quota_exceeded";
  private static final JsonFactory JSON = new JsonFactory();
  /** OpenAI's most choices a request may ask for ({@code n}); a higher index is not tracked. */
  private static final int MAX_CHOICES = 128;
  /** An event longer than this is passed on as it is rather than held: memory stays bounded. */
  private static final int MAX_PENDING = 1 << 20;

  private final ResponseTap inner;
  private final Dialect client;
  private final TokenMeter meter;
  private final SseScanner scanner = new SseScanner();
  private byte[] pending = Bytes.EMPTY;
  private long completionTokens;
  private boolean cut;

  // What the closing frames repeat of the stream.
  private String id;
  private String model;
  private String object;
  private long created = -1;
  /** Anthropic: the index of the content block open now, or -1. */
  private long openBlock = -1;
  private long sequence = -1;
  /** OpenAI: the choices seen without their {@code finish_reason} yet (several with {@code n > 1}). */
  private final java.util.BitSet openChoices = new java.util.BitSet();
  private boolean choicesSeen;

  // The state of one scan.
  private byte[] bytes;
  private int base;
  private int eventStart;

  public QuotaCutTap(ResponseTap inner, Dialect client, TokenMeter meter) {
    this.inner = inner;
    this.client = client;
    this.meter = meter;
  }

  /** The tap it counts for: what meters an answer read whole, which cannot be cut. */
  public ResponseTap inner() {
    return inner;
  }

  @Override
  public Buffer onChunk(Buffer chunk) {
    Buffer out = inner.onChunk(chunk);
    if (cut) {
      return null;
    }
    return out == null || out.length() == 0 ? out : scan(out);
  }

  @Override
  public Buffer onEnd() {
    if (cut) {
      return null;
    }
    Buffer rest = inner.onEnd();
    Buffer out = rest == null || rest.length() == 0 ? null : scan(rest);
    if (!cut && pending.length > 0) {
      // An event without its blank line at the very end: the client gets it as it came.
      out = (out == null ? Buffer.buffer() : out).appendBytes(pending);
      pending = Bytes.EMPTY;
    }
    return out;
  }

  /** True once the allowance was spent: the client's stream has been closed; reset the backend and end. */
  @Override
  public boolean cutShort() {
    return cut;
  }

  /** Once cut, what was relayed is what was counted: the backend's report (if it ever came) is not what was used. */
  @Override
  public Usage usage() {
    return cut ? null : inner.usage();
  }

  @Override
  public long completionTokensEstimate() {
    return cut ? completionTokens : inner.completionTokensEstimate();
  }

  @Override
  public boolean usageRejected() {
    return !cut && inner.usageRejected();
  }

  @Override
  public boolean atFrameBoundary() {
    return true;
  }

  private Buffer scan(Buffer in) {
    byte[] fresh = in.getBytes();
    base = pending.length;
    bytes = base == 0 ? fresh : Bytes.concat(pending, fresh);
    eventStart = 0;
    scanner.feed(fresh, 0, fresh.length, this);
    Buffer out = Buffer.buffer(eventStart + 256).appendBytes(bytes, 0, eventStart);
    if (cut) {
      pending = Bytes.EMPTY;
      out.appendBuffer(closing());
    } else {
      pending = eventStart == bytes.length ? Bytes.EMPTY : Arrays.copyOfRange(bytes, eventStart, bytes.length);
      if (pending.length > MAX_PENDING) {
        out.appendBytes(pending);
        pending = Bytes.EMPTY;
      }
    }
    bytes = null;
    return out;
  }

  @Override
  public void event(int end, byte[] data, int length) {
    if (cut) {
      return;
    }
    eventStart = base + end;
    if (data == null || length == 0 || data[0] != '{') {
      return;
    }
    remember(data, length);
    RelayedText text = new RelayedText();
    UsageJson.collectText(data, 0, length, text);
    long tokens = text.isEmpty() ? 0 : text.tokens();
    if (tokens > 0) {
      completionTokens += tokens;
      cut = meter.spend(tokens);
    }
  }

  /** Notes what the closing frames need from an event: the stream's id and model, Anthropic's open block. */
  private void remember(byte[] data, int length) {
    try (JsonParser parser = JSON.createParser(data, 0, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return;
      }
      String type = null;
      long index = -1;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "id" -> id = value == JsonToken.VALUE_STRING && id == null ? parser.getText() : id;
          case "model" -> model = value == JsonToken.VALUE_STRING && model == null ? parser.getText() : model;
          case "object" -> object = value == JsonToken.VALUE_STRING && object == null ? parser.getText() : object;
          case "created" -> created = value == JsonToken.VALUE_NUMBER_INT && created < 0 ? parser.getLongValue() : created;
          case "type" -> type = value == JsonToken.VALUE_STRING ? parser.getText() : null;
          case "index" -> index = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : -1;
          case "sequence_number" -> sequence = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : sequence;
          case "choices" -> {
            if (value == JsonToken.START_ARRAY) {
              choices(parser);
            } else {
              parser.skipChildren();
            }
          }
          case "response", "message" -> {
            if (value == JsonToken.START_OBJECT) {
              identity(parser);
            } else {
              parser.skipChildren();
            }
          }
          default -> parser.skipChildren();
        }
      }
      if ("content_block_start".equals(type)) {
        openBlock = Math.max(0, index);
      } else if ("content_block_stop".equals(type)) {
        openBlock = -1;
      }
    } catch (IOException e) {
      // Not JSON the closing frames can learn from: they go without it.
    }
  }

  /** Which OpenAI choices are still generating: each seen goes open, and closed by its {@code finish_reason}. */
  private void choices(JsonParser parser) throws IOException {
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
      if (token != JsonToken.START_OBJECT) {
        parser.skipChildren();
        continue;
      }
      long index = 0;
      boolean finished = false;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("index".equals(field) && value == JsonToken.VALUE_NUMBER_INT) {
          index = parser.getLongValue();
        } else if ("finish_reason".equals(field)) {
          finished = value == JsonToken.VALUE_STRING;
        } else {
          parser.skipChildren();
        }
      }
      if (index >= 0 && index < MAX_CHOICES) {
        choicesSeen = true;
        openChoices.set((int) index, !finished);
      }
    }
  }

  /** The id and model of a Responses {@code response} or an Anthropic {@code message}. */
  private void identity(JsonParser parser) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      if ("id".equals(field) && value == JsonToken.VALUE_STRING && id == null) {
        id = parser.getText();
      } else if ("model".equals(field) && value == JsonToken.VALUE_STRING && model == null) {
        model = parser.getText();
      } else {
        parser.skipChildren();
      }
    }
  }

  /** The client dialect's clean end of a stream whose quota ran out. */
  private Buffer closing() {
    GatewayError error = new GatewayError(ErrorKind.RATE_LIMITED, 429, REASON,
        "Quota exceeded: the key's quota ran out while the answer was streamed; the answer was cut after "
            + completionTokens + " completion tokens", null);
    Buffer out = Buffer.buffer();
    switch (client) {
      case OPENAI -> {
        // Every choice still generating ends with "length" (n > 1 streams several); none seen yet: choice 0.
        if (!choicesSeen) {
          openChoices.set(0);
        }
        for (int index = openChoices.nextSetBit(0); index >= 0; index = openChoices.nextSetBit(index + 1)) {
          frame(out, null, lastChunk(index));
        }
        out.appendBuffer(client.streamErrorFrame(error));
        out.appendString("data: [DONE]\n\n");
      }
      case ANTHROPIC -> {
        if (openBlock >= 0) {
          frame(out, "content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", openBlock));
        }
        frame(out, "message_delta", new JsonObject().put("type", "message_delta")
            .put("delta", new JsonObject().put("stop_reason", "max_tokens").putNull("stop_sequence"))
            .put("usage", new JsonObject().put("output_tokens", completionTokens)));
        out.appendBuffer(client.streamErrorFrame(error));
      }
      case OPENAI_RESPONSES -> {
        JsonObject incomplete = new JsonObject().put("type", "response.incomplete")
            .put("response", new JsonObject().put("id", id).put("object", "response").put("status", "incomplete")
                .put("model", model)
                .put("incomplete_details", new JsonObject().put("reason", "max_output_tokens"))
                .put("usage", new JsonObject().put("output_tokens", completionTokens)));
        if (sequence >= 0) {
          incomplete.put("sequence_number", ++sequence);
        }
        frame(out, "response.incomplete", incomplete);
        out.appendBuffer(client.streamErrorFrame(error));
      }
    }
    return out;
  }

  /** An OpenAI chunk that ends choice {@code index} for lack of quota. */
  private JsonObject lastChunk(int index) {
    boolean text = "text_completion".equals(object);
    JsonObject choice = new JsonObject().put("index", index);
    if (text) {
      choice.put("text", "");
    } else {
      choice.put("delta", new JsonObject());
    }
    choice.putNull("logprobs").put("finish_reason", "length");
    return new JsonObject().put("id", id).put("object", text ? "text_completion" : "chat.completion.chunk")
        .put("created", created >= 0 ? created : System.currentTimeMillis() / 1000).put("model", model)
        .put("choices", new JsonArray().add(choice));
  }

  private static void frame(Buffer out, String event, JsonObject data) {
    if (event != null) {
      out.appendString("event: ").appendString(event).appendString("\n");
    }
    out.appendString("data: ").appendString(data.encode()).appendString("\n\n");
  }
}
