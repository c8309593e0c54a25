package dev.llmproxy.common.tokens;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Counts tokens the way OpenAI's {@code cl100k_base} encoding does (jtokkit), for TPM reservations and for usage
 * the backend did not report. Self-hosted models use other vocabularies, so every count is an estimate; it is
 * the same estimate everywhere in the gateway.
 *
 * <p>Runs on event loops, so it is bounded: a text, or all the texts of one request together, are encoded exactly
 * up to {@link #EXACT_CHARS} characters (about 2 ms of work) and the rest is estimated at
 * {@link #CHARS_PER_TOKEN} characters a token. Thread-safe; the encoding is built once
 * (call {@link #warmUp()} off the event loop at start, since that first build reads the vocabulary).
 */
public final class TokenCounter {

  /** Characters of one text that are encoded exactly; beyond them a cheap estimate takes over. */
  public static final int EXACT_CHARS = 64 * 1024;
  /** OpenAI's rule of thumb for English text. */
  public static final int CHARS_PER_TOKEN = 4;
  /** OpenAI's cookbook (gpt-3.5-turbo-0613 and later, gpt-4): every message costs 3 tokens besides its fields. */
  static final int TOKENS_PER_MESSAGE = 3;
  /** ... a {@code name} field one more ... */
  static final int TOKENS_PER_NAME = 1;
  /** ... and every reply is primed with 3 ({@code <|start|>assistant<|message|>}). */
  static final int REPLY_PRIMING = 3;

  private static final JsonFactory JSON = new JsonFactory();

  private TokenCounter() {
  }

  private static final class Holder {
    static final Encoding CL100K = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  }

  /** The roles of OpenAI's and Anthropic's messages with their counts, as the encoding counts them (made once). */
  private static final class Roles {
    static final java.util.Map<String, Long> COUNTS = java.util.Map.of(
        "system", count("system"), "user", count("user"), "assistant", count("assistant"),
        "tool", count("tool"), "function", count("function"), "developer", count("developer"));
  }

  /** Loads the vocabulary; blocking, so call it from a worker or at start. */
  public static void warmUp() {
    Holder.CL100K.countTokens("warm up");
    Roles.COUNTS.size();
  }

  /** Tokens of a plain text. */
  public static long count(CharSequence text) {
    if (text == null || text.length() == 0) {
      return 0;
    }
    if (text.length() <= EXACT_CHARS) {
      return Holder.CL100K.countTokens(text.toString());
    }
    long rest = text.length() - EXACT_CHARS;
    return Holder.CL100K.countTokens(text.subSequence(0, EXACT_CHARS).toString())
        + (rest + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
  }

  /** Tokens of UTF-8 bytes taken as text (an answer that is not JSON). */
  public static long count(byte[] utf8, int offset, int length) {
    return count(new String(utf8, offset, length, StandardCharsets.UTF_8));
  }

  /**
   * The prompt of a request body in any dialect the gateway meters, and the completion budget it asks for.
   * Counts {@code messages} (string content or arrays of text parts or blocks, names, tool calls' names and
   * arguments, plus the per-message overhead), {@code prompt} and {@code input} (strings, arrays of strings, token
   * arrays, whose length is their count, or the Responses API's input items), Anthropic's {@code system} and the
   * Responses API's {@code instructions} (a string or text blocks), and {@code tools}/{@code functions} by their JSON
   * text. The budget is {@code max_completion_tokens} or {@code max_output_tokens} (Responses), else
   * {@code max_tokens} (chat, completions, Anthropic). A body that is not a JSON object counts as plain text.
   */
  public static PromptTokens prompt(byte[] body) {
    if (body == null || body.length == 0) {
      return PromptTokens.NONE;
    }
    Exact budget = new Exact();
    try (JsonParser parser = JSON.createParser(body)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return new PromptTokens(count(body, 0, body.length), -1);
      }
      long tokens = 0;
      long maxTokens = -1;
      long maxCompletionTokens = -1;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "messages" -> tokens += value == JsonToken.START_ARRAY ? messages(parser, budget) + REPLY_PRIMING : skip(parser);
          case "prompt", "input" -> tokens += promptValue(parser, value, budget);
          case "system", "instructions" -> tokens += content(parser, value, budget);
          case "tools", "functions" -> tokens += rawJson(parser, body, budget);
          case "max_tokens" -> maxTokens = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : maxTokens;
          case "max_completion_tokens", "max_output_tokens" ->
              maxCompletionTokens = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : maxCompletionTokens;
          default -> parser.skipChildren();
        }
      }
      return new PromptTokens(tokens, maxCompletionTokens >= 0 ? maxCompletionTokens : maxTokens);
    } catch (IOException e) {
      return new PromptTokens(count(body, 0, body.length), -1);
    }
  }

  private static long messages(JsonParser parser, Exact budget) throws IOException {
    long tokens = 0;
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
      if (token != JsonToken.START_OBJECT) {
        parser.skipChildren();
        continue;
      }
      tokens += TOKENS_PER_MESSAGE;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "role" -> tokens += value == JsonToken.VALUE_STRING ? budget.countRole(parser.getText()) : skip(parser);
          case "name" -> tokens += value == JsonToken.VALUE_STRING ? budget.count(parser.getText()) + TOKENS_PER_NAME : skip(parser);
          case "content" -> tokens += content(parser, value, budget);
          case "tool_calls", "function_call" -> tokens += strings(parser, value, budget);
          default -> parser.skipChildren();
        }
      }
    }
    return tokens;
  }

  /** A message's content: a string, or parts of which the text ones count ({@code {"type":"text","text":...}}). */
  private static long content(JsonParser parser, JsonToken value, Exact budget) throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      return budget.count(parser.getText());
    }
    if (value != JsonToken.START_ARRAY) {
      return skip(parser);
    }
    long tokens = 0;
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
      if (token == JsonToken.VALUE_STRING) {
        tokens += budget.count(parser.getText());
      } else if (token == JsonToken.START_OBJECT) {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String field = parser.currentName();
          JsonToken part = parser.nextToken();
          if ("text".equals(field) && part == JsonToken.VALUE_STRING) {
            tokens += budget.count(parser.getText());
          } else {
            parser.skipChildren();
          }
        }
      } else {
        parser.skipChildren();
      }
    }
    return tokens;
  }

  /** Every string inside a structure (tool calls: function names and their JSON arguments). */
  private static long strings(JsonParser parser, JsonToken value, Exact budget) throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      return budget.count(parser.getText());
    }
    if (value != JsonToken.START_ARRAY && value != JsonToken.START_OBJECT) {
      return 0;
    }
    long tokens = 0;
    int depth = 1;
    while (depth > 0) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        break;
      }
      switch (token) {
        case START_ARRAY, START_OBJECT -> depth++;
        case END_ARRAY, END_OBJECT -> depth--;
        case VALUE_STRING -> tokens += budget.count(parser.getText());
        default -> {
        }
      }
    }
    return tokens;
  }

  /**
   * {@code prompt}/{@code input}: a string, strings, a token array (its length), arrays of token arrays, or the
   * Responses API's items (messages, function calls and their outputs), each counted like a chat message.
   */
  private static long promptValue(JsonParser parser, JsonToken value, Exact budget) throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      return budget.count(parser.getText());
    }
    if (value != JsonToken.START_ARRAY) {
      return skip(parser);
    }
    long tokens = 0;
    int depth = 1;
    while (depth > 0) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        break;
      }
      switch (token) {
        case START_ARRAY -> depth++;
        case END_ARRAY -> depth--;
        case START_OBJECT -> tokens += inputItem(parser, budget);
        case VALUE_STRING -> tokens += budget.count(parser.getText());
        case VALUE_NUMBER_INT -> tokens++;
        default -> {
        }
      }
    }
    return tokens;
  }

  /** One Responses API input item: its role, content (a string or parts), or a function call's or output's text. */
  private static long inputItem(JsonParser parser, Exact budget) throws IOException {
    long tokens = TOKENS_PER_MESSAGE;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (field) {
        case "content" -> tokens += content(parser, value, budget);
        case "role", "name", "arguments", "output" ->
            tokens += value == JsonToken.VALUE_STRING ? budget.count(parser.getText()) : skip(parser);
        default -> parser.skipChildren();
      }
    }
    return tokens;
  }

  /** A structure counted by its JSON text as the client wrote it (tool definitions). */
  private static long rawJson(JsonParser parser, byte[] body, Exact budget) throws IOException {
    long from = parser.currentTokenLocation().getByteOffset();
    parser.skipChildren();
    long to = parser.currentLocation().getByteOffset();
    if (from < 0 || to <= from || to > body.length) {
      return 0;
    }
    return budget.count(new String(body, (int) from, (int) (to - from), StandardCharsets.UTF_8));
  }

  /** What is left of one request's exact encoding; past it, texts are estimated from their length. */
  private static final class Exact {
    private long charsLeft = EXACT_CHARS;

    /** A message's role: the usual ones are counted once per JVM (every message has one), others as any text. */
    long countRole(String role) {
      Long known = Roles.COUNTS.get(role);
      if (known == null || role.length() > charsLeft) {
        return count(role);
      }
      charsLeft -= role.length();
      return known;
    }

    long count(String text) {
      if (text.length() <= charsLeft) {
        charsLeft -= text.length();
        return TokenCounter.count(text);
      }
      int exact = (int) charsLeft;
      charsLeft = 0;
      return TokenCounter.count(text.substring(0, exact))
          + (text.length() - exact + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
    }
  }

  private static long skip(JsonParser parser) throws IOException {
    parser.skipChildren();
    return 0;
  }
}
