package dev.llmproxy.proxy.upstream;

import java.util.Arrays;

/**
 * Server-sent events as the WHATWG spec parses them, fed chunk by chunk: lines end with CRLF, LF or a lone CR; an
 * empty line ends an event; the values of its {@code data:} lines (one leading space dropped) are joined with LF;
 * {@code event:}, {@code id:}, {@code retry:} and comment lines do not touch the data. Only what one unfinished line
 * and one event's data need is kept between chunks, each bounded: a longer line or event is passed over unread.
 */
final class SseScanner {

  /** Receives each event as it ends. */
  interface Listener {
    /**
     * @param end    the offset in the chunk just past the event's blank line
     * @param data   the event's joined data (valid up to {@code length}), or null when it had none or too much
     */
    void event(int end, byte[] data, int length);
  }

  private static final int MAX = 1 << 20;
  private static final byte[] DATA = {'d', 'a', 't', 'a'};

  private byte[] line = new byte[256];
  private int lineLength;
  private boolean lineTooLong;
  private byte[] data = new byte[256];
  private int dataLength;
  private boolean hasData;
  private boolean dataTooLong;
  /** A non-empty line of the current event has passed. */
  private boolean inEvent;
  /** The last byte was a CR: an LF right after it belongs to the same line end. */
  private boolean afterCr;
  /** That CR ended an event. */
  private boolean eventEndedOnCr;

  /** Scans {@code bytes[from, to)}, calling {@code listener} for each event that ends in it. */
  void feed(byte[] bytes, int from, int to, Listener listener) {
    for (int i = from; i < to; i++) {
      byte b = bytes[i];
      if (afterCr) {
        afterCr = false;
        if (b == '\n') {
          continue;
        }
      }
      if (b == '\r' || b == '\n') {
        boolean lf = b == '\n';
        afterCr = !lf;
        int end = i + 1;
        if (!lf && end < to && bytes[end] == '\n') {
          end++; // the CRLF's LF is consumed with it
        }
        eventEndedOnCr = endLine(end, listener) && !lf && end == i + 1;
      } else {
        eventEndedOnCr = false;
        appendToLine(b);
      }
    }
  }

  /**
   * True when the previous chunk ended on a CR that ended an event: an LF starting the next chunk is part of that
   * event's end, not a new line.
   */
  boolean eventEndedOnCr() {
    return afterCr && eventEndedOnCr;
  }

  /** The stream ended: an event without its blank line still has its data read (for usage, never re-sent). */
  void finish(Listener listener) {
    if (lineLength > 0 || lineTooLong) {
      endLine(-1, null);
    }
    if (hasData && !dataTooLong) {
      listener.event(-1, data, dataLength);
    }
    resetEvent();
  }

  /** Nothing of an event has been scanned since the last one ended: another event can follow cleanly. */
  boolean atEventBoundary() {
    return !inEvent && lineLength == 0 && !lineTooLong;
  }

  /** Returns true when the line was empty and so ended an event. */
  private boolean endLine(int end, Listener listener) {
    if (lineLength == 0 && !lineTooLong) {
      if (inEvent && listener != null) {
        listener.event(end, hasData && !dataTooLong ? data : null, dataLength);
      }
      boolean ended = inEvent;
      resetEvent();
      return ended;
    }
    inEvent = true;
    if (!lineTooLong && isData()) {
      int value = DATA.length + 1;
      if (value < lineLength && line[value] == ' ') {
        value++;
      }
      if (hasData) {
        appendToData((byte) '\n', null, 0, 0);
      }
      appendToData((byte) 0, line, value, lineLength - value);
      hasData = true;
    }
    lineLength = 0;
    lineTooLong = false;
    return false;
  }

  private boolean isData() {
    if (lineLength < DATA.length + 1 || line[DATA.length] != ':') {
      // "data" alone is a data line with an empty value
      return lineLength == DATA.length && Arrays.equals(line, 0, DATA.length, DATA, 0, DATA.length);
    }
    return Arrays.equals(line, 0, DATA.length, DATA, 0, DATA.length);
  }

  private void appendToLine(byte b) {
    if (lineTooLong) {
      return;
    }
    if (lineLength == line.length) {
      if (line.length >= MAX) {
        lineTooLong = true;
        return;
      }
      line = Arrays.copyOf(line, Math.min(MAX, line.length * 2));
    }
    line[lineLength++] = b;
  }

  private void appendToData(byte single, byte[] from, int offset, int length) {
    int n = from == null ? 1 : length;
    if (dataTooLong || dataLength + n > MAX) {
      dataTooLong = true;
      return;
    }
    if (dataLength + n > data.length) {
      data = Arrays.copyOf(data, Math.min(MAX, Math.max(data.length * 2, dataLength + n)));
    }
    if (from == null) {
      data[dataLength++] = single;
    } else {
      System.arraycopy(from, offset, data, dataLength, length);
      dataLength += length;
    }
  }

  private void resetEvent() {
    inEvent = false;
    hasData = false;
    dataTooLong = false;
    dataLength = 0;
    lineLength = 0;
    lineTooLong = false;
    if (data.length > 4096) {
      data = new byte[256]; // one large event does not keep its buffer for the rest of a long stream
    }
    if (line.length > 4096) {
      line = new byte[256];
    }
  }
}
