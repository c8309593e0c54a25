package dev.llmproxy.proxy.cache;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * A 200 answer as the response cache keeps it: its content type and body. Stored in Redis as one value, the
 * content type's line first.
 */
public record CachedAnswer(String contentType, Buffer body) {

  /** What the entry weighs in a memory cache: its bytes, key included. */
  int weight(String key) {
    return key.length() + (contentType == null ? 0 : contentType.length()) + body.length() + 64;
  }

  Buffer encode() {
    return Buffer.buffer(body.length() + 64).appendString(contentType == null ? "" : contentType).appendByte((byte) '\n')
        .appendBuffer(body);
  }

  /** The inverse of {@link #encode()}; null for a value not written by it. */
  static CachedAnswer decode(Buffer stored) {
    byte[] bytes = stored.getBytes();
    for (int i = 0; i < bytes.length && i < 512; i++) {
      if (bytes[i] == '\n') {
        String type = new String(bytes, 0, i, StandardCharsets.UTF_8);
        return new CachedAnswer(type.isEmpty() ? null : type, stored.getBuffer(i + 1, bytes.length));
      }
    }
    return null;
  }
}
