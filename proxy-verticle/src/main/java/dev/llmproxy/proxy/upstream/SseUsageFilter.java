package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;

import java.util.Arrays;

/**
 * For a client that did not ask for usage, though the gateway did on its behalf: forwards each SSE event the moment
 * it is complete and drops the usage-only event ({@code "choices":[]}) after reading it. Events are parsed as the
 * SSE spec defines them ({@link SseScanner}).
 */
final class SseUsageFilter implements ResponseTap, SseScanner.Listener {

  /** An event longer than this is passed on as it is rather than held: memory stays bounded. */
  private static final int MAX_PENDING = 1 << 20;

  private final SseScanner scanner = new SseScanner();
  /** Bytes of an unfinished event, not yet sent. */
  private byte[] pending = Bytes.EMPTY;
  private Usage usage;
  private boolean rejected;
  private final RelayedText relayed = new RelayedText();
  /** The event that ended last was dropped (its CR's LF, if it comes next, goes with it). */
  private boolean droppedLast;

  // The state of one onChunk call, which the scanner's callbacks move on.
  private byte[] bytes;
  private int base;
  private int eventStart;
  private int keptFrom;
  private Buffer out;

  @Override
  public Buffer onChunk(Buffer chunk) {
    byte[] in = chunk.getBytes();
    base = pending.length;
    bytes = base == 0 ? in : Bytes.concat(pending, in);
    out = null;
    eventStart = 0;
    keptFrom = 0;
    if (base == 0 && in.length > 0 && in[0] == '\n' && scanner.eventEndedOnCr()) {
      // The LF of a CRLF split between chunks ends the previous event: it goes where that event went.
      eventStart = 1;
      keptFrom = droppedLast ? 1 : 0;
    }
    scanner.feed(in, 0, in.length, this);
    boolean whole = base == 0 && keptFrom == 0 && eventStart == bytes.length;
    Buffer result;
    if (whole) {
      result = chunk;
    } else {
      result = append(out, bytes, keptFrom, eventStart);
    }
    pending = eventStart == bytes.length ? Bytes.EMPTY : Arrays.copyOfRange(bytes, eventStart, bytes.length);
    if (pending.length > MAX_PENDING) {
      result = append(result, pending, 0, pending.length);
      pending = Bytes.EMPTY;
    }
    bytes = null;
    out = null;
    return result;
  }

  @Override
  public void event(int end, byte[] data, int length) {
    int eventEnd = base + end;
    droppedLast = false;
    if (data != null && isUsageOnly(data, length)) {
      out = append(out, bytes, keptFrom, eventStart);
      keptFrom = eventEnd;
      droppedLast = true;
    } else if (data != null && usage == null && length > 0 && data[0] == '{') {
      UsageJson.collectText(data, 0, length, relayed);
    }
    eventStart = eventEnd;
  }

  private boolean isUsageOnly(byte[] data, int length) {
    if (Bytes.indexOf(data, 0, length, Bytes.USAGE_KEY) < 0) {
      return false;
    }
    UsageJson.Summary summary = UsageJson.read(data, 0, length);
    if (summary.usage() != null) {
      usage = summary.usage();
    }
    rejected |= summary.rejected();
    // A usage-only event the gateway asked for is dropped even when its counts are nonsense.
    return summary.counts() != null && summary.choicesEmpty();
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
    scanner.finish((end, data, length) -> {
      if (data != null && usage == null) {
        isUsageOnly(data, length);
      }
    });
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
  public boolean usageRejected() {
    return rejected && usage == null;
  }

  @Override
  public boolean atFrameBoundary() {
    return true;
  }
}
