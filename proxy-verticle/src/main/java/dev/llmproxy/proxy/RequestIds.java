package dev.llmproxy.proxy;

import java.util.concurrent.ThreadLocalRandom;

/** Request ids that are unique enough to key billing records, without SecureRandom's cost on the hot path. */
final class RequestIds {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private RequestIds() {
  }

  static String next() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] id = new char[4 + 32];
    id[0] = 'r';
    id[1] = 'e';
    id[2] = 'q';
    id[3] = '_';
    long high = random.nextLong();
    long low = random.nextLong();
    for (int i = 0; i < 16; i++) {
      id[4 + i] = HEX[(int) (high >>> (60 - 4 * i)) & 0xf];
      id[20 + i] = HEX[(int) (low >>> (60 - 4 * i)) & 0xf];
    }
    return new String(id);
  }
}
