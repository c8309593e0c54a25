package dev.llmproxy.proxy.upstream;

import dev.llmproxy.common.tokens.TokenCounter;
import io.vertx.core.buffer.Buffer;

import java.util.Arrays;

/**
 * Reads {@code usage} from a JSON answer: keeps a copy of the body (the answer itself is forwarded chunk by
 * chunk) up to a cap; past the cap only the tail is kept, where OpenAI-style servers put {@code usage}.
 */
final class JsonBodyTap implements ResponseTap {

  private static final int CAP = 4 << 20;
  private static final int TAIL = 64 << 10;
  private static final byte[] NOTHING = new byte[0];

  /**
   * The first chunk as it came (most answers come in one): kept, not copied, since nothing writes to a chunk once it
   * was relayed. A second chunk starts the copy.
   */
  private Buffer first;
  /** The body from its second chunk on, sized by the chunks so far; nothing is allocated before, nor more than needed. */
  private byte[] copy = NOTHING;
  private int length;
  private boolean truncated;
  private long received;
  private Usage usage;
  private long completionEstimate;
  private boolean rejected;

  @Override
  public Buffer onChunk(Buffer chunk) {
    int n = chunk.length();
    received += n;
    if (received == n && n <= CAP) {
      first = chunk;
      return chunk;
    }
    if (first != null) {
      Buffer kept = first;
      first = null;
      copy = new byte[Math.min(CAP, Math.max(kept.length() * 2, kept.length() + n))];
      kept.getBytes(copy, 0);
      length = kept.length();
    }
    if (length + n > copy.length) {
      if (length + n > CAP) {
        keepTail(chunk);
        return chunk;
      }
      copy = Arrays.copyOf(copy, Math.min(CAP, Math.max(copy.length * 2, length + n)));
    }
    chunk.getBytes(copy, length);
    length += n;
    return chunk;
  }

  private void keepTail(Buffer chunk) {
    truncated = true;
    byte[] incoming = chunk.getBytes();
    byte[] joined = Bytes.concat(Arrays.copyOf(copy, length), incoming);
    int from = Math.max(0, joined.length - TAIL);
    copy = Arrays.copyOfRange(joined, from, joined.length);
    length = copy.length;
  }

  @Override
  public Buffer onEnd() {
    if (first != null) {
      copy = BodyBytes.readOnly(first); // read only, in place when the chunk fills its array
      length = copy.length;
      first = null;
    }
    if (!truncated) {
      usage = read(copy, 0, length);
    } else {
      int key = Bytes.lastIndexOf(copy, 0, length, Bytes.USAGE_KEY);
      if (key >= 0) {
        int brace = key + Bytes.USAGE_KEY.length;
        while (brace < length && copy[brace] != '{') {
          brace++;
        }
        byte[] tail = wrap(copy, brace, length);
        usage = read(tail, 0, tail.length);
      }
    }
    if (usage == null) {
      completionEstimate = estimateCompletion();
    }
    copy = null;
    return null;
  }

  private Usage read(byte[] bytes, int offset, int length) {
    UsageJson.Summary summary = UsageJson.read(bytes, offset, length);
    rejected = summary.rejected();
    return summary.usage();
  }

  @Override
  public boolean usageRejected() {
    return rejected;
  }

  /**
   * The answer's choices counted, or the whole body when it is not JSON (a backend answering plain text); a body
   * too large to keep is estimated from its size.
   */
  private long estimateCompletion() {
    if (truncated) {
      return (received + TokenCounter.CHARS_PER_TOKEN - 1) / TokenCounter.CHARS_PER_TOKEN;
    }
    RelayedText text = new RelayedText();
    int start = 0;
    while (start < length && Character.isWhitespace(copy[start])) {
      start++;
    }
    if (start < length && copy[start] == '{' && UsageJson.collectText(copy, start, length - start, text)) {
      return text.tokens();
    }
    return TokenCounter.count(copy, 0, length);
  }

  @Override
  public long completionTokensEstimate() {
    return completionEstimate;
  }

  /** The tail from the usage object on, as {@code {"usage":{...}}} for the parser; trailing bytes are ignored. */
  private static byte[] wrap(byte[] bytes, int from, int to) {
    byte[] prefix = "{\"usage\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] out = new byte[prefix.length + (to - from)];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(bytes, from, out, prefix.length, to - from);
    return out;
  }

  @Override
  public Usage usage() {
    return usage;
  }

  @Override
  public boolean atFrameBoundary() {
    return false;
  }
}
