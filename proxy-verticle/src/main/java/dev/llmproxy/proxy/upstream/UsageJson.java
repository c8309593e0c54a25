package dev.llmproxy.proxy.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * Reads the {@code usage} object (and whether {@code choices} is empty) from one JSON document with a streaming
 * parser: the rest of the document is skipped, never built into a tree. Where each dialect puts it:
 * <ul>
 *   <li>at the top: OpenAI chat/completions/embeddings answers and usage chunks, Anthropic's Messages answer and its
 *       {@code message_delta} event, a Responses API answer;</li>
 *   <li>in {@code response}: the Responses API's {@code response.completed} (and {@code .incomplete},
 *       {@code .failed}) events;</li>
 *   <li>in {@code message}: Anthropic's {@code message_start}, a partial report (the input; the output follows).</li>
 * </ul>
 */
final class UsageJson {

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * @param counts       null when the document has none
   * @param partial      the counts open a stream's report that later events complete (Anthropic's
   *                     {@code message_start})
   * @param choicesEmpty a {@code "choices":[]} was present
   */
  record Summary(UsageCounts counts, boolean partial, boolean choicesEmpty) {

    /** A complete report as the gateway meters it, or null. */
    Usage usage() {
      return counts == null || partial || counts.invalid() ? null : counts.toUsage();
    }

    /** The document had a {@code usage} whose counts are no counts: nothing to bill from. */
    boolean rejected() {
      return counts != null && counts.invalid();
    }
  }

  private static final Summary NOTHING = new Summary(null, false, false);

  private UsageJson() {
  }

  static Summary read(byte[] bytes, int offset, int length) {
    UsageCounts top = null;
    UsageCounts nested = null;
    boolean nestedPartial = false;
    boolean choicesEmpty = false;
    try (JsonParser parser = JSON.createParser(bytes, offset, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return NOTHING;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("usage".equals(field) && value == JsonToken.START_OBJECT) {
          top = readCounts(parser);
        } else if (("response".equals(field) || "message".equals(field)) && value == JsonToken.START_OBJECT) {
          UsageCounts inside = usageInside(parser);
          if (inside != null) {
            nested = inside;
            nestedPartial = "message".equals(field);
          }
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
    }
    if (top != null) {
      return new Summary(top, false, choicesEmpty);
    }
    if (nested != null) {
      return new Summary(nested, nestedPartial, choicesEmpty);
    }
    return choicesEmpty ? new Summary(null, false, true) : NOTHING;
  }

  /** The {@code usage} object of the object the parser is at, skipping the rest of it. */
  private static UsageCounts usageInside(JsonParser parser) throws IOException {
    UsageCounts found = null;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      if ("usage".equals(field) && value == JsonToken.START_OBJECT) {
        found = readCounts(parser);
      } else {
        parser.skipChildren();
      }
    }
    return found;
  }

  /**
   * Appends the generated text of one answer or stream event, in any dialect. OpenAI chat/completions: each
   * choice's {@code delta.content} (and {@code reasoning_content}), {@code message.content} or {@code text}.
   * Anthropic: the answer's {@code content} blocks ({@code text}, {@code thinking}), a {@code content_block_delta}'s
   * {@code delta.text}, {@code delta.thinking} or {@code delta.partial_json}. Responses API: the answer's
   * {@code output} items' {@code content} parts and {@code arguments}, and a delta event's {@code delta} string
   * (the {@code .done} events repeat the text under other names and are not read). Returns false when the bytes are
   * not a JSON object.
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
          eachObject(parser, () -> choice(parser, sink));
        } else if ("content".equals(field) && value == JsonToken.START_ARRAY) {
          eachObject(parser, () -> texts(parser, sink));
        } else if ("output".equals(field) && value == JsonToken.START_ARRAY) {
          eachObject(parser, () -> outputItem(parser, sink));
        } else if ("delta".equals(field) && value == JsonToken.VALUE_STRING) {
          sink.append(parser.getText());
        } else if ("delta".equals(field) && value == JsonToken.START_OBJECT) {
          texts(parser, sink);
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

  private interface ObjectReader {
    void read() throws IOException;
  }

  /** Reads each object of the array the parser is at with {@code reader}, skipping anything else. */
  private static void eachObject(JsonParser parser, ObjectReader reader) throws IOException {
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
      if (token == JsonToken.START_OBJECT) {
        reader.read();
      } else {
        parser.skipChildren();
      }
    }
  }

  /** The generated strings of one content block or delta (Anthropic's, or a Responses content part). */
  private static void texts(JsonParser parser, RelayedText sink) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if (value == JsonToken.VALUE_STRING
          && ("text".equals(name) || "thinking".equals(name) || "partial_json".equals(name))) {
        sink.append(parser.getText());
      } else {
        parser.skipChildren();
      }
    }
  }

  /** One item of a Responses answer's {@code output}: a message's content parts, or a function call's arguments. */
  private static void outputItem(JsonParser parser, RelayedText sink) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if ("content".equals(name) && value == JsonToken.START_ARRAY) {
        eachObject(parser, () -> texts(parser, sink));
      } else if ("arguments".equals(name) && value == JsonToken.VALUE_STRING) {
        sink.append(parser.getText());
      } else {
        parser.skipChildren();
      }
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

  /**
   * The counts of a {@code usage} object, or {@link UsageCounts#INVALID} when a count it carries is not a whole
   * number from 0 (a string, a fraction, a negative or huge number): a backend that reports nonsense has reported
   * nothing the gateway can bill, so the request is estimated as if it had reported nothing.
   */
  private static UsageCounts readCounts(JsonParser parser) throws IOException {
    long input = UsageCounts.ABSENT;
    long output = UsageCounts.ABSENT;
    long cacheCreation = UsageCounts.ABSENT;
    long cacheRead = UsageCounts.ABSENT;
    long total = UsageCounts.ABSENT;
    boolean invalid = false;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      boolean known = switch (name) {
        case "prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "cache_creation_input_tokens",
            "cache_read_input_tokens", "total_tokens" -> true;
        default -> false;
      };
      if (!known || value == JsonToken.VALUE_NULL) {
        parser.skipChildren();
        continue;
      }
      if (value != JsonToken.VALUE_NUMBER_INT || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
          || parser.getLongValue() < 0) {
        invalid = true;
        parser.skipChildren();
        continue;
      }
      long count = parser.getLongValue();
      switch (name) {
        case "prompt_tokens", "input_tokens" -> input = count;
        case "completion_tokens", "output_tokens" -> output = count;
        case "cache_creation_input_tokens" -> cacheCreation = count;
        case "cache_read_input_tokens" -> cacheRead = count;
        default -> total = count;
      }
    }
    return invalid ? UsageCounts.INVALID : new UsageCounts(input, output, cacheCreation, cacheRead, total);
  }
}
