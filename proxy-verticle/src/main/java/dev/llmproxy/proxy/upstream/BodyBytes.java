package dev.llmproxy.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * A body's bytes for reading: the parsers (the request's inspection and prompt count, the answer's usage) read a body
 * where it lies instead of a copy of it each, which for a prompt of some kilobytes was that many bytes per parse.
 */
public final class BodyBytes {

  private BodyBytes() {
  }

  /**
   * The buffer's own array when the buffer is a heap buffer that fills it exactly (a request body or an answer's chunk
   * as Vert.x hands it over, or one the gateway built from an array), else a copy. The caller reads it and never writes
   * to it.
   */
  public static byte[] readOnly(Buffer buffer) {
    if (buffer instanceof BufferInternal internal) {
      ByteBuf bytes = internal.getByteBuf();
      if (bytes.hasArray() && bytes.arrayOffset() + bytes.readerIndex() == 0
          && bytes.readableBytes() == bytes.array().length) {
        return bytes.array();
      }
    }
    return buffer.getBytes();
  }
}
