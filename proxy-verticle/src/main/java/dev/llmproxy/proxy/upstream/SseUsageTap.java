package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;

/**
 * Passes an SSE stream through untouched, reading the {@code usage} of any event whose data has one, in any dialect
 * (see {@link UsageJson}). Events are parsed as the SSE spec defines them ({@link SseScanner}): any line ending,
 * {@code event:}/{@code id:} lines, data split over several lines.
 */
final class SseUsageTap implements ResponseTap, SseScanner.Listener {

  private final SseScanner scanner = new SseScanner();
  /** What the stream reported so far: Anthropic's comes in parts. */
  private UsageCounts counts;
  /** Set once a complete report has passed (OpenAI's usage chunk, Anthropic's {@code message_delta}, ...). */
  private Usage usage;
  private boolean rejected;
  private final RelayedText relayed = new RelayedText();

  @Override
  public Buffer onChunk(Buffer chunk) {
    byte[] bytes = chunk.getBytes();
    scanner.feed(bytes, 0, bytes.length, this);
    return chunk;
  }

  @Override
  public void event(int end, byte[] data, int length) {
    if (data == null || length == 0) {
      return;
    }
    if (Bytes.indexOf(data, 0, length, Bytes.USAGE_KEY) >= 0) {
      UsageJson.Summary found = UsageJson.read(data, 0, length);
      if (found.rejected()) {
        rejected = true;
        return;
      }
      if (found.counts() != null) {
        counts = counts == null ? found.counts() : counts.overriddenBy(found.counts());
        if (!found.partial()) {
          usage = counts.toUsage();
        }
        return;
      }
    }
    if (usage == null && data[0] == '{') {
      UsageJson.collectText(data, 0, length, relayed);
    }
  }

  @Override
  public long completionTokensEstimate() {
    return relayed.tokens();
  }

  @Override
  public Buffer onEnd() {
    scanner.finish(this);
    return null;
  }

  @Override
  public Usage usage() {
    return usage;
  }

  @Override
  public boolean usageRejected() {
    return rejected && usage == null;
  }

  @Override
  public boolean atFrameBoundary() {
    return scanner.atEventBoundary();
  }
}
