package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** A JSON answer's usage is read alike however the answer was cut into chunks; the chunks pass on unchanged. */
class JsonBodyTapTest {

  private static final String ANSWER = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"hello there\"}}],"
      + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}";

  private static Usage read(byte[] answer, int chunkSize) {
    JsonBodyTap tap = new JsonBodyTap();
    for (int i = 0; i < answer.length; i += chunkSize) {
      Buffer chunk = Buffer.buffer(Arrays.copyOfRange(answer, i, Math.min(answer.length, i + chunkSize)));
      assertSame(chunk, tap.onChunk(chunk));
    }
    tap.onEnd();
    return tap.usage();
  }

  @Test
  void oneChunkTwoOrManyReadTheSameUsage() {
    byte[] answer = ANSWER.getBytes(StandardCharsets.UTF_8);
    for (int size : new int[] {answer.length, answer.length - 1, answer.length / 2 + 1, 7, 1}) {
      assertEquals(new Usage(7, 3, 10), read(answer, size), "chunks of " + size);
    }
  }

  @Test
  void anAnswerPastTheCapIsReadFromItsTail() {
    String padding = "x".repeat(5 << 20);
    byte[] answer = ("{\"id\":\"" + padding + "\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
        + "\"total_tokens\":10}}").getBytes(StandardCharsets.UTF_8);
    assertEquals(new Usage(7, 3, 10), read(answer, answer.length), "one chunk larger than the cap");
    assertEquals(new Usage(7, 3, 10), read(answer, 1 << 20), "chunks of 1 MB");
  }
}
