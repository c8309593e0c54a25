package dev.llmproxy.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.upstream.BodyBytes;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads {@code model}, {@code stream} and {@code stream_options} from a JSON body with a streaming parser
 * (no tree is built), and asks the backend for usage when a streaming OpenAI chat or completions client did not.
 * The three dialects name these fields alike (Anthropic's Messages and OpenAI's Responses have {@code model} and
 * {@code stream}); only OpenAI's chat family knows {@code stream_options}, so nothing is injected into the others,
 * whose streams report usage anyway ({@code message_start}/{@code message_delta}, {@code response.completed}).
 */
public final class RequestInspector {

  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] INCLUDE_USAGE = "\"stream_options\":{\"include_usage\":true},"
      .getBytes(StandardCharsets.US_ASCII);

  /** The top-level fields the gateway reads and checks. */
  private static final java.util.List<String> READ_FIELDS = java.util.List.of("model", "stream", "stream_options",
      "messages", "input", "max_tokens", "max_completion_tokens", "max_output_tokens", "n");

  private RequestInspector() {
  }

  /** What the gateway reads of a request on {@code endpoint}: nothing on passthrough routes. */
  static InspectedRequest inspect(Endpoint endpoint, Buffer body) {
    return inspect(endpoint, body, 0);
  }

  /**
   * @param prefixChars with {@code load_balance: prefix_aware}, how much of an inference prompt's start to hash
   *                    ({@link InspectedRequest#promptPrefix()}); 0: none
   */
  static InspectedRequest inspect(Endpoint endpoint, Buffer body, int prefixChars) {
    if (!endpoint.routedByModel()) {
      return InspectedRequest.passthrough(body);
    }
    if (body.length() == 0) {
      throw invalid("the request body must be a JSON object; it is empty");
    }
    PromptPrefix prefix = endpoint.inference() && prefixChars > 0 ? new PromptPrefix(prefixChars) : null;
    InspectedRequest read = inspect(body, endpoint.inference() && endpoint.dialect() == Dialect.OPENAI, prefix);
    return endpoint.inference() ? read : new InspectedRequest(read.model(), false, read.forwardBody(), false);
  }

  private static InspectedRequest inspect(Buffer body, boolean mayInjectUsage, PromptPrefix prefix) {
    byte[] bytes = BodyBytes.readOnly(body); // read, never written (a BOM is dropped from a copy)
    // Jackson would guess UTF-16 or UTF-32 from the first bytes and read them; the gateway's insertion and the
    // backends assume UTF-8 (RFC 8259: JSON exchanged between systems is UTF-8), so anything else is refused.
    if (Utf8.looksWide(bytes)) {
      throw invalid("the request body must be UTF-8 JSON; it looks like UTF-16 or UTF-32");
    }
    int bad = Utf8.firstInvalid(bytes);
    if (bad >= 0) {
      throw invalid("the request body must be UTF-8 JSON; byte " + bad + " is not valid UTF-8");
    }
    int bom = Utf8.bomLength(bytes);
    if (bom > 0) {
      // RFC 8259 lets a parser ignore a byte-order mark; some backends refuse one, so it is not passed on.
      bytes = java.util.Arrays.copyOfRange(bytes, bom, bytes.length);
      body = Buffer.buffer(bytes);
    }
    String model = null;
    boolean stream = false;
    boolean hasStreamOptions = false;
    boolean includeUsage = false;
    try (JsonParser parser = JSON.createParser(bytes)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw invalid("the request body must be a JSON object");
      }
      JsonToken token;
      int seen = 0;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        int index = READ_FIELDS.indexOf(field);
        if (index >= 0) {
          if ((seen & 1 << index) != 0) {
            // Parsers differ on which of two values wins: the gateway must not check one and the backend use another.
            throw new GatewayError(ErrorKind.INVALID_REQUEST, "'" + field + "' appears more than once");
          }
          seen |= 1 << index;
        }
        switch (field) {
          case "model" -> {
            if (value == JsonToken.VALUE_STRING) {
              model = parser.getText();
            } else if (value != JsonToken.VALUE_NULL) {
              throw wrongType("model", "a string");
            }
          }
          case "stream" -> {
            if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE && value != JsonToken.VALUE_NULL) {
              throw wrongType("stream", "true or false");
            }
            stream = value == JsonToken.VALUE_TRUE;
          }
          case "stream_options" -> {
            if (value != JsonToken.START_OBJECT && value != JsonToken.VALUE_NULL) {
              throw wrongType("stream_options", "an object");
            }
            hasStreamOptions = true;
            includeUsage = value == JsonToken.START_OBJECT && readIncludeUsage(parser);
          }
          case "messages", "input" -> {
            // Chat and Messages take an array; Responses and embeddings take a string or an array in `input`.
            boolean ok = value == JsonToken.START_ARRAY || value == JsonToken.VALUE_NULL
                || "input".equals(field) && value == JsonToken.VALUE_STRING;
            if (!ok) {
              throw wrongType(field, "input".equals(field) ? "a string or an array" : "an array");
            }
            if (prefix != null) {
              prefix.readConversation(parser, value);
            } else {
              parser.skipChildren();
            }
          }
          // Read only for prefix_aware routing: the backend checks them.
          case "prompt" -> {
            if (prefix != null) {
              prefix.readConversation(parser, value);
            } else {
              parser.skipChildren();
            }
          }
          case "system", "instructions" -> {
            if (prefix != null) {
              prefix.readSystem(parser, value);
            } else {
              parser.skipChildren();
            }
          }
          case "max_tokens", "max_completion_tokens", "max_output_tokens" -> count(parser, value, field, 0);
          case "n" -> count(parser, value, field, 1);
          default -> parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        throw invalid("the request body is not valid JSON: unexpected content after the object");
      }
    } catch (IOException e) {
      throw invalid("the request body is not valid JSON: " + firstLine(e.getMessage()));
    }
    long promptPrefix = prefix == null ? PromptPrefix.NONE : prefix.hash();
    if (!stream || includeUsage || !mayInjectUsage) {
      return new InspectedRequest(model, stream, body, false, promptPrefix);
    }
    Buffer forward = hasStreamOptions ? rewriteStreamOptions(body) : insertStreamOptions(bytes);
    return new InspectedRequest(model, true, forward, true, promptPrefix);
  }

  /** A count the gateway reads (a token budget, {@code n}): an integer from {@code min}, or null. */
  private static void count(JsonParser parser, JsonToken value, String field, long min) throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return;
    }
    if (value != JsonToken.VALUE_NUMBER_INT || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
        || parser.getLongValue() < min || parser.getLongValue() > Integer.MAX_VALUE) {
      throw new GatewayError(ErrorKind.INVALID_REQUEST, "'" + field + "' must be an integer from " + min + " to "
          + Integer.MAX_VALUE);
    }
  }

  private static GatewayError wrongType(String field, String expected) {
    return new GatewayError(ErrorKind.INVALID_REQUEST, "'" + field + "' must be " + expected);
  }

  private static boolean readIncludeUsage(JsonParser parser) throws IOException {
    boolean include = false;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if ("include_usage".equals(name)) {
        include = value == JsonToken.VALUE_TRUE;
      } else {
        parser.skipChildren();
      }
    }
    return include;
  }

  /** The common case: no {@code stream_options} at all, so the rest of the client's bytes stay as they are. */
  private static Buffer insertStreamOptions(byte[] bytes) {
    int brace = 0;
    while (bytes[brace] != '{') {
      brace++;
    }
    Buffer out = Buffer.buffer(bytes.length + INCLUDE_USAGE.length);
    out.appendBytes(bytes, 0, brace + 1).appendBytes(INCLUDE_USAGE).appendBytes(bytes, brace + 1, bytes.length - brace - 1);
    return out;
  }

  private static Buffer rewriteStreamOptions(Buffer body) {
    try {
      JsonObject json = body.toJsonObject();
      Object options = json.getValue("stream_options");
      JsonObject rewritten = options instanceof JsonObject o ? o.copy() : new JsonObject();
      json.put("stream_options", rewritten.put("include_usage", true));
      return json.toBuffer();
    } catch (DecodeException e) {
      throw invalid("the request body is not valid JSON");
    }
  }

  private static GatewayError invalid(String message) {
    return new GatewayError(ErrorKind.INVALID_JSON, message);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "malformed";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
