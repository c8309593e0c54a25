package dev.llmproxy.proxy.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * Reads the top-level {@code usage} object (and whether {@code choices} is empty) from one JSON document
 * with a streaming parser: the rest of the document is skipped, never built into a tree.
 */
final class UsageJson {

  private static final JsonFactory JSON = new JsonFactory();

  /** @param usage null when the document has none; @param choicesEmpty a {@code "choices":[]} was present */
  record Summary(Usage usage, boolean choicesEmpty) {
  }

  private static final Summary NOTHING = new Summary(null, false);

  private UsageJson() {
  }

  static Summary read(byte[] bytes, int offset, int length) {
    Usage usage = null;
    boolean choicesEmpty = false;
    try (JsonParser parser = JSON.createParser(bytes, offset, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return NOTHING;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("usage".equals(field) && value == JsonToken.START_OBJECT) {
          usage = readUsage(parser);
        } else if ("choices".equals(field) && value == JsonToken.START_ARRAY) {
          choicesEmpty = parser.nextToken() == JsonToken.END_ARRAY;
          if (!choicesEmpty) {
            parser.skipChildren();
            skipRestOfArray(parser);
          }
        } else {
          parser.skipChildren();
        }
      }
    } catch (IOException e) {
      // A backend's malformed JSON is the client's to see, not ours to fail on: the record is then estimated.
      return usage == null ? NOTHING : new Summary(usage, choicesEmpty);
    }
    return usage == null && !choicesEmpty ? NOTHING : new Summary(usage, choicesEmpty);
  }

  /**
   * Appends the generated text of one answer or stream chunk: each choice's {@code delta.content} (and
   * {@code reasoning_content}), {@code message.content} or {@code text}. Returns false when the bytes are not a
   * JSON object.
   */
  static boolean collectText(byte[] bytes, int offset, int length, RelayedText sink) {
    try (JsonParser parser = JSON.createParser(bytes, offset, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("choices".equals(field) && value == JsonToken.START_ARRAY) {
          JsonToken token;
          while ((token = parser.nextToken()) == JsonToken.START_OBJECT) {
            choice(parser, sink);
          }
          if (token != JsonToken.END_ARRAY) {
            parser.skipChildren();
          }
        } else {
          parser.skipChildren();
        }
      }
      return true;
    } catch (IOException e) {
      // What was read before the malformed part still counts.
      return true;
    }
  }

  private static void choice(JsonParser parser, RelayedText sink) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      if (("delta".equals(field) || "message".equals(field)) && value == JsonToken.START_OBJECT) {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          JsonToken inner = parser.nextToken();
          if (("content".equals(name) || "reasoning_content".equals(name)) && inner == JsonToken.VALUE_STRING) {
            sink.append(parser.getText());
          } else {
            parser.skipChildren();
          }
        }
      } else if ("text".equals(field) && value == JsonToken.VALUE_STRING) {
        sink.append(parser.getText());
      } else {
        parser.skipChildren();
      }
    }
  }

  private static void skipRestOfArray(JsonParser parser) throws IOException {
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
      parser.skipChildren();
    }
  }

  private static Usage readUsage(JsonParser parser) throws IOException {
    long prompt = 0;
    long completion = 0;
    long total = -1;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if (value == JsonToken.VALUE_NUMBER_INT) {
        switch (name) {
          case "prompt_tokens", "input_tokens" -> prompt = parser.getLongValue();
          case "completion_tokens", "output_tokens" -> completion = parser.getLongValue();
          case "total_tokens" -> total = parser.getLongValue();
          default -> {
          }
        }
      } else {
        parser.skipChildren();
      }
    }
    return new Usage(prompt, completion, total < 0 ? prompt + completion : total);
  }
}
