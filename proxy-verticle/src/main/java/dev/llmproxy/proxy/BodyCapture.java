package dev.llmproxy.proxy;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * A copy of the first {@value #LIMIT} bytes of a body for {@code logging.request.include_body}. It copies what
 * passes and holds nothing back: the client gets every chunk as before.
 */
final class BodyCapture {

  /** Bytes kept of each body (request and response): 16 KiB. */
  static final int LIMIT = 16 * 1024;

  private final Buffer kept = Buffer.buffer(1024);
  private boolean truncated;

  void add(Buffer chunk) {
    int room = LIMIT - kept.length();
    if (chunk.length() <= room) {
      kept.appendBuffer(chunk);
    } else {
      if (room > 0) {
        kept.appendBuffer(chunk, 0, room);
      }
      truncated = true;
    }
  }

  /** The first {@value #LIMIT} bytes of {@code body} as text, or null when there is none. */
  static String head(Buffer body) {
    if (body == null || body.length() == 0) {
      return null;
    }
    int length = Math.min(LIMIT, body.length());
    return new String(body.getBytes(0, length), StandardCharsets.UTF_8);
  }

  String text() {
    return kept.length() == 0 ? null : kept.toString(StandardCharsets.UTF_8);
  }

  boolean truncated() {
    return truncated;
  }
}
