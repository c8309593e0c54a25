package dev.llmproxy.proxy.translate;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * Cuts a server-sent event stream into its frames as the bytes arrive: only the frame not yet complete is kept
 * between chunks. A frame's {@code event:} name and its {@code data:} lines (joined by newlines) go to the consumer.
 */
final class SseFrames {

  /** What receives each complete frame. */
  interface Consumer {
    void frame(String event, String data);
  }

  /** A frame larger than this is not an answer the gateway can translate: it is dropped. */
  private static final int MAX_FRAME = 8 << 20;

  private final Consumer consumer;
  private final StringBuilder line = new StringBuilder();
  private String event;
  private StringBuilder data;
  private int frameChars;

  SseFrames(Consumer consumer) {
    this.consumer = consumer;
  }

  void feed(Buffer chunk) {
    String text = chunk.toString(StandardCharsets.UTF_8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\n') {
        line(line);
        line.setLength(0);
      } else if (c != '\r' && frameChars++ < MAX_FRAME) {
        line.append(c);
      }
    }
  }

  /** The stream ended: a last frame without its blank line still counts. */
  void end() {
    if (line.length() > 0) {
      line(line);
      line.setLength(0);
    }
    line(line);
  }

  private void line(CharSequence l) {
    if (l.length() == 0) {
      if (data != null) {
        String e = event;
        String d = data.toString();
        event = null;
        data = null;
        frameChars = 0;
        try {
          consumer.frame(e, d);
        } catch (RuntimeException malformed) {
          // A frame whose fields have unexpected types is left out; the stream goes on.
        }
      }
      event = null;
      return;
    }
    String s = l.toString();
    if (s.startsWith("event:")) {
      event = s.substring(6).trim();
    } else if (s.startsWith("data:")) {
      String value = s.length() > 5 && s.charAt(5) == ' ' ? s.substring(6) : s.substring(5);
      if (data == null) {
        data = new StringBuilder(value);
      } else {
        data.append('\n').append(value);
      }
    }
  }
}
