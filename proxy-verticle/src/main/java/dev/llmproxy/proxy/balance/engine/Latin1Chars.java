package dev.llmproxy.proxy.balance.engine;

import io.vertx.core.buffer.Buffer;

/**
 * A response body read as characters without decoding it into a String: each byte is one char. The
 * metric names and values the parser reads are ASCII; bytes of multi-byte UTF-8 characters, which can
 * only stand in label values and comments, are never a quote, backslash or newline, so skipping them
 * byte by byte is safe.
 */
final class Latin1Chars implements CharSequence {

  private final Buffer buffer;
  private final int start;
  private final int end;

  Latin1Chars(Buffer buffer) {
    this(buffer, 0, buffer.length());
  }

  private Latin1Chars(Buffer buffer, int start, int end) {
    this.buffer = buffer;
    this.start = start;
    this.end = end;
  }

  @Override
  public int length() {
    return end - start;
  }

  @Override
  public char charAt(int index) {
    return (char) (buffer.getByte(start + index) & 0xff);
  }

  @Override
  public CharSequence subSequence(int from, int to) {
    if (from < 0 || to > length() || from > to) {
      throw new IndexOutOfBoundsException(from + ".." + to + " of " + length());
    }
    return new Latin1Chars(buffer, start + from, start + to);
  }

  @Override
  public String toString() {
    return buffer.getString(start, end, "ISO-8859-1");
  }
}
