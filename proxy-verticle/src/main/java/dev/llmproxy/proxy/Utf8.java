package dev.llmproxy.proxy;

/** UTF-8 as RFC 3629 defines it (no overlongs, no surrogates, nothing past U+10FFFF), checked on raw bytes. */
final class Utf8 {

  private Utf8() {
  }

  /** The offset of the first byte that is not part of valid UTF-8, or -1 when all of them are. */
  static int firstInvalid(byte[] bytes) {
    int i = 0;
    int n = bytes.length;
    while (i < n) {
      int b = bytes[i];
      if (b >= 0) {
        i++;
        continue;
      }
      int lead = b & 0xFF;
      int extra;
      int min;
      if (lead >= 0xC2 && lead <= 0xDF) {
        extra = 1;
        min = 0x80;
      } else if (lead >= 0xE0 && lead <= 0xEF) {
        extra = 2;
        min = 0x800;
      } else if (lead >= 0xF0 && lead <= 0xF4) {
        extra = 3;
        min = 0x10000;
      } else {
        return i;
      }
      if (i + extra >= n) {
        return i;
      }
      int code = lead & (0x3F >> extra);
      for (int k = 1; k <= extra; k++) {
        int c = bytes[i + k] & 0xFF;
        if ((c & 0xC0) != 0x80) {
          return i;
        }
        code = (code << 6) | (c & 0x3F);
      }
      if (code < min || code > 0x10FFFF || code >= 0xD800 && code <= 0xDFFF) {
        return i;
      }
      i += extra + 1;
    }
    return -1;
  }

  /** A UTF-16 or UTF-32 byte-order mark, or a NUL among the first two bytes (how JSON in those encodings starts). */
  static boolean looksWide(byte[] bytes) {
    if (bytes.length >= 2 && ((bytes[0] & 0xFF) == 0xFE && (bytes[1] & 0xFF) == 0xFF
        || (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xFF) == 0xFE)) {
      return true;
    }
    return bytes.length >= 2 && (bytes[0] == 0 || bytes[1] == 0);
  }

  /** The length of a UTF-8 byte-order mark at the start (3), or 0. */
  static int bomLength(byte[] bytes) {
    return bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF
        ? 3 : 0;
  }
}
