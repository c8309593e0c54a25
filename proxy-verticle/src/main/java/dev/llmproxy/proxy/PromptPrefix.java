package dev.llmproxy.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * The start of a request's prompt, read for {@code load_balance: prefix_aware} while {@link RequestInspector} walks
 * the body anyway (the prompt's fields are consumed here instead of skipped, so the body is parsed once). The system
 * part ({@code system}, {@code instructions}) counts first wherever it stands in the body, then the conversation
 * ({@code messages}, {@code prompt}, {@code input}) in order; of each, the field names and scalar values in document
 * order, each closed by a separator (so that {@code ["ab","c"]} and {@code ["a","bc"]} differ), up to
 * {@code prefixChars} characters in all. Nothing past the budget is copied.
 */
final class PromptPrefix {

  /** A request without a prompt (or prefix hashing off). */
  static final long NONE = 0;

  private static final char END_OF_NAME = '\u0001';
  private static final char END_OF_VALUE = '\u0000';

  private final int budget;
  private final StringBuilder system = new StringBuilder();
  private final StringBuilder conversation = new StringBuilder();

  PromptPrefix(int prefixChars) {
    this.budget = prefixChars;
  }

  /** Consumes the value the parser stands on (a scalar, or a whole array or object) as system text. */
  void readSystem(JsonParser parser, JsonToken value) throws IOException {
    read(parser, value, system);
  }

  /** Consumes the value the parser stands on as conversation text. */
  void readConversation(JsonParser parser, JsonToken value) throws IOException {
    read(parser, value, conversation);
  }

  private void read(JsonParser parser, JsonToken value, StringBuilder into) throws IOException {
    if (value != JsonToken.START_ARRAY && value != JsonToken.START_OBJECT) {
      append(parser, value, into);
      return;
    }
    int depth = 1;
    while (depth > 0) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        return; // truncated body: the inspector's own check reports it
      }
      switch (token) {
        case START_ARRAY, START_OBJECT -> depth++;
        case END_ARRAY, END_OBJECT -> depth--;
        default -> append(parser, token, into);
      }
    }
  }

  private void append(JsonParser parser, JsonToken token, StringBuilder into) throws IOException {
    if (into.length() >= budget || token == JsonToken.VALUE_NULL) {
      return;
    }
    String text = parser.getText();
    int room = budget - into.length();
    into.append(text, 0, Math.min(text.length(), room));
    if (into.length() < budget) {
      into.append(token == JsonToken.FIELD_NAME ? END_OF_NAME : END_OF_VALUE);
    }
  }

  /** A 64-bit hash of the first {@code prefixChars} characters (system part first), or {@link #NONE} when empty. */
  long hash() {
    if (system.isEmpty() && conversation.isEmpty()) {
      return NONE;
    }
    long h = 0xcbf29ce484222325L; // FNV-1a, over UTF-16 code units
    h = fnv(h, system, system.length());
    h = fnv(h, "\u0002", 1); // where the system part ends
    h = fnv(h, conversation, Math.min(conversation.length(), budget - system.length()));
    h = mix(h);
    return h == NONE ? 1 : h;
  }

  private static long fnv(long h, CharSequence text, int length) {
    for (int i = 0; i < length; i++) {
      h ^= text.charAt(i);
      h *= 0x100000001b3L;
    }
    return h;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
}
