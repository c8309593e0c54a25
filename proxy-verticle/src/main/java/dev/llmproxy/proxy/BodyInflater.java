package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.buffer.Buffer;

import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A request body's {@code Content-Encoding} undone as its chunks arrive: gzip (RFC 1952, several members too, CRC and
 * length checked) and deflate (RFC 9110's zlib stream; a raw deflate stream, which some clients send, is read too).
 * What comes out counts against the body cap as it is produced: a small body that inflates past the cap is stopped
 * there (a zip bomb costs at most the cap in memory and the time to inflate it), never inflated whole first.
 * Runs on the event loop; the work per chunk is bounded by the cap.
 */
final class BodyInflater {

  /** What the output counts against: exceeded, {@link #feed} throws this. */
  private final long limit;
  private final java.util.function.Supplier<GatewayError> tooLarge;
  private final boolean gzip;
  /** A gzip header (its optional name and comment fields) longer than this is refused rather than buffered. */
  private static final int MAX_GZIP_HEADER = 64 * 1024;
  private final byte[] scratch = new byte[16 * 1024];
  private Inflater inflater;
  private final CRC32 crc = new CRC32();
  private long memberSize;
  /** gzip: bytes of a member's header or trailer not yet complete; deflate: the first two bytes, to tell zlib from raw. */
  private byte[] pending = new byte[0];
  private State state;
  private long produced;

  private enum State { HEADER, DATA, TRAILER, MEMBER_END }

  private BodyInflater(boolean gzip, long limit, java.util.function.Supplier<GatewayError> tooLarge) {
    this.gzip = gzip;
    this.limit = limit;
    this.tooLarge = tooLarge;
    this.state = State.HEADER;
  }

  /**
   * The inflater for a request's {@code Content-Encoding} value(s); null for none or {@code identity}.
   *
   * @throws GatewayError 415 for an encoding not read here, or more than one (stacked)
   */
  static BodyInflater forEncoding(java.util.List<String> headerValues, long limit,
      java.util.function.Supplier<GatewayError> tooLarge) {
    String only = null;
    int count = 0;
    for (String value : headerValues) {
      for (String token : value.split(",")) {
        String coding = token.trim().toLowerCase(java.util.Locale.ROOT);
        if (coding.isEmpty() || coding.equals("identity")) {
          continue;
        }
        count++;
        only = coding;
      }
    }
    if (count == 0) {
      return null;
    }
    if (count > 1) {
      throw new GatewayError(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "the request body has more than one Content-Encoding ("
          + String.join(", ", headerValues) + "); send it once encoded, with gzip or deflate, or not encoded");
    }
    return switch (only) {
      case "gzip", "x-gzip" -> new BodyInflater(true, limit, tooLarge);
      case "deflate" -> new BodyInflater(false, limit, tooLarge);
      default -> throw new GatewayError(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "Content-Encoding " + printable(only)
          + " is not supported; send the request body with gzip or deflate, or not encoded");
    };
  }

  /** Inflates a chunk of the encoded body onto {@code out}. @throws GatewayError corrupt (400) or too large (413) */
  void feed(Buffer chunk, Buffer out) {
    byte[] input = chunk.getBytes();
    try {
      int at = 0;
      while (at < input.length) {
        at = step(input, at, out);
      }
    } catch (DataFormatException e) {
      throw corrupt();
    }
  }

  /** The body has ended: it must end where a stream may. @throws GatewayError 400 when it was cut short */
  void finish(Buffer out) {
    boolean complete = gzip ? state == State.MEMBER_END && pending.length == 0
        : state == State.DATA && inflater.finished() || state == State.MEMBER_END;
    end();
    if (!complete) {
      throw corrupt();
    }
  }

  /** Frees the inflater's native memory (also when the body is refused half way). */
  void end() {
    if (inflater != null) {
      inflater.end();
      inflater = null;
    }
  }

  /** Consumes input from {@code at}; returns the new position. */
  private int step(byte[] input, int at, Buffer out) throws DataFormatException {
    switch (state) {
      case HEADER -> {
        byte[] head = join(pending, input, at);
        if (gzip) {
          int length = gzipHeaderLength(head);
          if (length < 0) {
            if (head.length > MAX_GZIP_HEADER) {
              throw corrupt(); // a name or comment field that never ends
            }
            pending = head;
            return input.length;
          }
          int consumed = length - pending.length;
          pending = new byte[0];
          inflater = new Inflater(true);
          crc.reset();
          memberSize = 0;
          state = State.DATA;
          return at + consumed;
        }
        if (head.length < 2) {
          pending = head;
          return input.length;
        }
        int cmf = head[0] & 0xFF;
        int flg = head[1] & 0xFF;
        boolean raw = !((cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && (cmf << 8 | flg) % 31 == 0);
        inflater = new Inflater(raw);
        state = State.DATA;
        byte[] start = pending;
        pending = new byte[0];
        if (start.length > 0) {
          inflate(start, 0, start.length, out);
        }
        return at;
      }
      case DATA -> {
        if (inflater.finished()) {
          return afterStream(input, at);
        }
        int used = inflate(input, at, input.length - at, out);
        return inflater.finished() ? afterStream(input, at + used) : at + used;
      }
      case TRAILER -> {
        byte[] trailer = join(pending, input, at);
        if (trailer.length < 8) {
          pending = trailer;
          return input.length;
        }
        int consumed = 8 - pending.length;
        pending = new byte[0];
        long crcRead = le32(trailer, 0);
        long sizeRead = le32(trailer, 4);
        if (crcRead != crc.getValue() || sizeRead != (memberSize & 0xFFFFFFFFL)) {
          throw corrupt();
        }
        state = State.MEMBER_END;
        return at + consumed;
      }
      default -> {
        if (!gzip) {
          throw corrupt(); // bytes after the end of a deflate stream
        }
        state = State.HEADER; // another gzip member
        return at;
      }
    }
  }

  /** The deflate stream has ended with {@code at} the next unread byte; gzip goes on to its trailer. */
  private int afterStream(byte[] input, int next) {
    inflater.end();
    inflater = null;
    if (gzip) {
      state = State.TRAILER;
    } else {
      state = State.MEMBER_END;
      if (next < input.length) {
        throw corrupt();
      }
    }
    return next;
  }

  /** Inflates from input until it is used up or the stream ends; returns the input bytes used. */
  private int inflate(byte[] input, int from, int length, Buffer out) throws DataFormatException {
    inflater.setInput(input, from, length);
    long before = inflater.getBytesRead();
    while (!inflater.finished()) {
      int n = inflater.inflate(scratch);
      if (n == 0) {
        if (inflater.needsDictionary()) {
          throw corrupt();
        }
        break; // needs input
      }
      produced += n;
      if (produced > limit) {
        end();
        throw tooLarge.get();
      }
      if (gzip) {
        crc.update(scratch, 0, n);
        memberSize += n;
      }
      out.appendBytes(scratch, 0, n);
    }
    return (int) (inflater.getBytesRead() - before);
  }

  /** The length of a complete gzip member header at the start of {@code b}, or -1 while it is incomplete. */
  private int gzipHeaderLength(byte[] b) {
    if (b.length >= 1 && (b[0] & 0xFF) != 0x1F || b.length >= 2 && (b[1] & 0xFF) != 0x8B
        || b.length >= 3 && b[2] != 8) {
      throw corrupt();
    }
    if (b.length < 10) {
      return -1;
    }
    int flags = b[3] & 0xFF;
    if ((flags & 0xE0) != 0) {
      throw corrupt();
    }
    int at = 10;
    if ((flags & 4) != 0) { // FEXTRA
      if (b.length < at + 2) {
        return -1;
      }
      at += 2 + ((b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8);
    }
    for (int flag : new int[] {8, 16}) { // FNAME, FCOMMENT: zero-terminated
      if ((flags & flag) != 0) {
        while (at < b.length && b[at] != 0) {
          at++;
        }
        if (at >= b.length) {
          return -1;
        }
        at++;
      }
    }
    if ((flags & 2) != 0) { // FHCRC
      at += 2;
    }
    return at <= b.length ? at : -1;
  }

  private static byte[] join(byte[] pending, byte[] input, int at) {
    byte[] joined = new byte[pending.length + input.length - at];
    System.arraycopy(pending, 0, joined, 0, pending.length);
    System.arraycopy(input, at, joined, pending.length, input.length - at);
    return joined;
  }

  private static long le32(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16 | (b[at + 3] & 0xFFL) << 24;
  }

  private GatewayError corrupt() {
    end();
    return new GatewayError(ErrorKind.INVALID_REQUEST, "the request body is not valid " + (gzip ? "gzip" : "deflate")
        + " data (Content-Encoding: " + (gzip ? "gzip" : "deflate") + ")");
  }

  /** A client's header value shown in a reply: short, and nothing but printable ASCII. */
  static String printable(String value) {
    String cut = value.length() > 40 ? value.substring(0, 40) + "..." : value;
    return "\"" + cut.replaceAll("[^\\x20-\\x7E]", "?").replace("\"", "'") + "\"";
  }
}
