package dev.llmproxy.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
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

  private RequestInspector() {
  }

  /** What the gateway reads of a request on {@code endpoint}: nothing on passthrough routes. */
  static InspectedRequest inspect(Endpoint endpoint, Buffer body) {
    if (!endpoint.routedByModel()) {
      return InspectedRequest.passthrough(body);
    }
    if (body.length() == 0) {
      throw invalid("the request body must be a JSON object; it is empty");
    }
    InspectedRequest read = inspect(body, endpoint.inference() && endpoint.dialect() == Dialect.OPENAI);
    return endpoint.inference() ? read : new InspectedRequest(read.model(), false, body, false);
  }

  private static InspectedRequest inspect(Buffer body, boolean mayInjectUsage) {
    byte[] bytes = body.getBytes();
    String model = null;
    boolean stream = false;
    boolean hasStreamOptions = false;
    boolean includeUsage = false;
    try (JsonParser parser = JSON.createParser(bytes)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw invalid("the request body must be a JSON object");
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "model" -> {
            if (value == JsonToken.VALUE_STRING) {
              model = parser.getText();
            } else if (value != JsonToken.VALUE_NULL) {
              throw invalid("'model' must be a string");
            }
          }
          case "stream" -> stream = value == JsonToken.VALUE_TRUE;
          case "stream_options" -> {
            hasStreamOptions = true;
            includeUsage = value == JsonToken.START_OBJECT && readIncludeUsage(parser);
          }
          default -> parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        throw invalid("the request body is not valid JSON: unexpected content after the object");
      }
    } catch (IOException e) {
      throw invalid("the request body is not valid JSON: " + firstLine(e.getMessage()));
    }
    if (!stream || includeUsage || !mayInjectUsage) {
      return new InspectedRequest(model, stream, body, false);
    }
    Buffer forward = hasStreamOptions ? rewriteStreamOptions(body) : insertStreamOptions(bytes);
    return new InspectedRequest(model, true, forward, true);
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
