package dev.llmproxy.proxy;

import dev.llmproxy.common.config.CondensationConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * {@code condensation}: what makes a backend's 400 a context-length error, and the shorter chat request retried
 * once in its place: the oldest non-system messages dropped ({@code adaptive_factor} of them, at least one), the
 * system messages and the last message always kept, and no tool result left without the call it answers.
 */
final class Condensation {

  private Condensation() {
  }

  /** The backend's error names a context-length problem (one of {@code error_keywords}, case-insensitive). */
  static boolean contextLengthError(CondensationConfig config, Buffer error) {
    String text = error.toString().toLowerCase(Locale.ROOT);
    for (String keyword : config.errorKeywords()) {
      if (!keyword.isEmpty() && text.contains(keyword.toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  /** The chat request with its oldest messages dropped, or null when there is nothing left to drop. */
  static Buffer shorter(CondensationConfig config, Buffer body) {
    JsonObject request;
    try {
      request = body.toJsonObject();
    } catch (RuntimeException notJson) {
      return null;
    }
    if (!(request.getValue("messages") instanceof JsonArray messages)) {
      return null;
    }
    int conversation = 0;
    for (Object message : messages) {
      if (!isSystem(message)) {
        conversation++;
      }
    }
    if (conversation <= 1) {
      return null;
    }
    int drop = Math.min(conversation - 1, Math.max(1, (int) Math.floor(conversation * config.dropFraction())));
    JsonArray kept = new JsonArray();
    int seen = 0;
    boolean leading = true;
    for (Object message : messages) {
      if (isSystem(message)) {
        kept.add(message);
        continue;
      }
      seen++;
      if (seen <= drop) {
        continue;
      }
      // A tool result whose assistant call was dropped would be refused: it goes too.
      if (leading && message instanceof JsonObject m && "tool".equals(m.getValue("role")) && seen < conversation) {
        continue;
      }
      leading = false;
      kept.add(message);
    }
    return request.put("messages", kept).toBuffer();
  }

  private static boolean isSystem(Object message) {
    return message instanceof JsonObject m && ("system".equals(m.getValue("role"))
        || "developer".equals(m.getValue("role")));
  }
}
