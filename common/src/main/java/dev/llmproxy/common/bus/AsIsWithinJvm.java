package dev.llmproxy.common.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/** An immutable body: itself within one JVM, its JSON (length-prefixed) on the wire. */
abstract class AsIsWithinJvm<T> implements MessageCodec<T, T> {

  private final String name;

  AsIsWithinJvm(String name) {
    this.name = name;
  }

  abstract Buffer toJson(T body);

  abstract T fromJson(Buffer json);

  @Override
  public void encodeToWire(Buffer buffer, T body) {
    Buffer json = toJson(body);
    buffer.appendInt(json.length()).appendBuffer(json);
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return fromJson(buffer.getBuffer(pos + 4, pos + 4 + length));
  }

  @Override
  public T transform(T body) {
    return body;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
