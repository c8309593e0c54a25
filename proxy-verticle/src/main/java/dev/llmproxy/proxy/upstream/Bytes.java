package dev.llmproxy.proxy.upstream;

import java.nio.charset.StandardCharsets;

/** Byte searches for the taps; they work on the bytes as they pass, never on decoded strings. */
final class Bytes {

  static final byte[] EMPTY = new byte[0];
  static final byte[] USAGE_KEY = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

  private Bytes() {
  }

  static int indexOf(byte[] haystack, int from, int to, byte[] needle) {
    outer:
    for (int i = from, last = to - needle.length; i <= last; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static int lastIndexOf(byte[] haystack, int from, int to, byte[] needle) {
    outer:
    for (int i = to - needle.length; i >= from; i--) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
