package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;

import java.util.Arrays;

/**
 * Passes an SSE stream through untouched, reading the {@code usage} of any {@code data:} line that has one, in any
 * dialect (see {@link UsageJson}). It keeps only the unfinished last line between chunks.
 */
final class SseUsageTap implements ResponseTap {

  private static final int MAX_LINE = 1 << 20;

  private byte[] carry = Bytes.EMPTY;
  /** What the stream reported so far: Anthropic's comes in parts. */
  private UsageCounts counts;
  /** Set once a complete report has passed (OpenAI's usage chunk, Anthropic's {@code message_delta}, ...). */
  private Usage usage;
  private final RelayedText relayed = new RelayedText();
  private int trailingNewlines;

  @Override
  public Buffer onChunk(Buffer chunk) {
    byte[] bytes = chunk.getBytes();
    int lineStart = 0;
    for (int i = 0; i < bytes.length; i++) {
      byte b = bytes[i];
      if (b == '\n') {
        if (carry.length > 0) {
          byte[] line = Bytes.concat(carry, Arrays.copyOfRange(bytes, lineStart, i));
          carry = Bytes.EMPTY;
          line(line, 0, line.length);
        } else {
          line(bytes, lineStart, i);
        }
        lineStart = i + 1;
        trailingNewlines++;
      } else if (b != '\r') {
        trailingNewlines = 0;
      }
    }
    if (lineStart < bytes.length && carry.length + bytes.length - lineStart <= MAX_LINE) {
      carry = carry.length == 0 ? Arrays.copyOfRange(bytes, lineStart, bytes.length)
          : Bytes.concat(carry, Arrays.copyOfRange(bytes, lineStart, bytes.length));
    }
    return chunk;
  }

  private void line(byte[] bytes, int from, int to) {
    if (to > from && bytes[to - 1] == '\r') {
      to--;
    }
    int payload = Bytes.dataPayload(bytes, from, to);
    if (payload < 0) {
      return;
    }
    if (Bytes.indexOf(bytes, payload, to, Bytes.USAGE_KEY) >= 0) {
      UsageJson.Summary found = UsageJson.read(bytes, payload, to - payload);
      if (found.counts() != null) {
        counts = counts == null ? found.counts() : counts.overriddenBy(found.counts());
        if (!found.partial()) {
          usage = counts.toUsage();
        }
        return;
      }
    }
    if (usage == null && to > payload && bytes[payload] == '{') {
      UsageJson.collectText(bytes, payload, to - payload, relayed);
    }
  }

  @Override
  public long completionTokensEstimate() {
    return relayed.tokens();
  }

  @Override
  public Buffer onEnd() {
    return null;
  }

  @Override
  public Usage usage() {
    return usage;
  }

  @Override
  public boolean atFrameBoundary() {
    return trailingNewlines >= 2;
  }
}
