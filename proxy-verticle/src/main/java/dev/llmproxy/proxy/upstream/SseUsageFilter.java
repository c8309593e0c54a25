package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;

import java.util.Arrays;

/**
 * For a client that did not ask for usage, though the gateway did on its behalf: forwards each SSE frame
 * the moment it is complete and drops the usage-only frame ({@code "choices":[]}) after reading it.
 */
final class SseUsageFilter implements ResponseTap {

  /** A frame longer than this is passed on as it is rather than held: memory stays bounded. */
  private static final int MAX_PENDING = 1 << 20;

  private byte[] pending = Bytes.EMPTY;
  private Usage usage;
  private final RelayedText relayed = new RelayedText();

  @Override
  public Buffer onChunk(Buffer chunk) {
    boolean chunkIsWhole = pending.length == 0;
    byte[] bytes = chunkIsWhole ? chunk.getBytes() : Bytes.concat(pending, chunk.getBytes());
    Buffer out = null;
    int frameStart = 0;
    int keptFrom = 0;
    for (int i = 1; i < bytes.length; i++) {
      if (bytes[i] == '\n' && (bytes[i - 1] == '\n' || (bytes[i - 1] == '\r' && i > 1 && bytes[i - 2] == '\n'))) {
        int frameEnd = i + 1;
        if (isUsageOnly(bytes, frameStart, frameEnd)) {
          out = append(out, bytes, keptFrom, frameStart);
          keptFrom = frameEnd;
        } else if (usage == null) {
          collectText(bytes, frameStart, frameEnd);
        }
        frameStart = frameEnd;
      }
    }
    if (chunkIsWhole && keptFrom == 0 && frameStart == bytes.length) {
      return chunk;
    }
    out = append(out, bytes, keptFrom, frameStart);
    pending = frameStart == bytes.length ? Bytes.EMPTY : Arrays.copyOfRange(bytes, frameStart, bytes.length);
    if (pending.length > MAX_PENDING) {
      out = append(out, pending, 0, pending.length);
      pending = Bytes.EMPTY;
    }
    return out;
  }

  private boolean isUsageOnly(byte[] bytes, int from, int to) {
    if (Bytes.indexOf(bytes, from, to, Bytes.USAGE_KEY) < 0) {
      return false;
    }
    int payload = Bytes.dataPayload(bytes, from, to);
    if (payload < 0) {
      return false;
    }
    UsageJson.Summary summary = UsageJson.read(bytes, payload, to - payload);
    if (summary.usage() != null) {
      usage = summary.usage();
    }
    return summary.usage() != null && summary.choicesEmpty();
  }

  private void collectText(byte[] bytes, int from, int to) {
    int payload = Bytes.dataPayload(bytes, from, to);
    if (payload >= 0 && payload < to && bytes[payload] == '{') {
      UsageJson.collectText(bytes, payload, to - payload, relayed);
    }
  }

  @Override
  public long completionTokensEstimate() {
    return relayed.tokens();
  }

  private static Buffer append(Buffer out, byte[] bytes, int from, int to) {
    if (to <= from) {
      return out;
    }
    return (out == null ? Buffer.buffer(to - from) : out).appendBytes(bytes, from, to - from);
  }

  @Override
  public Buffer onEnd() {
    if (pending.length == 0) {
      return null;
    }
    Buffer rest = Buffer.buffer(pending);
    pending = Bytes.EMPTY;
    return rest;
  }

  @Override
  public Usage usage() {
    return usage;
  }

  @Override
  public boolean atFrameBoundary() {
    return true;
  }
}
