package dev.llmproxy.proxy.cache;

import dev.llmproxy.testsupport.Poll;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The memory store of the response cache (real Caffeine), and the cache key. */
class MemoryResponseCacheTest {

  private static CachedAnswer answerOf(int bytes) {
    return new CachedAnswer("application/json", Buffer.buffer(new byte[bytes]));
  }

  @Test
  void memoryIsBoundedByMaxSizeMbWeighingEntriesByTheirBytes() {
    MemoryResponseCache cache = new MemoryResponseCache(1, Duration.ofHours(1));
    for (int i = 0; i < 10; i++) {
      cache.put("key-" + i, answerOf(300 * 1024));
    }
    long held = cache.weightedBytes();
    assertTrue(held <= 1 << 20, "at most 1 MiB held, is " + held);
    assertTrue(held >= 600 * 1024, "the cache is not emptied either: " + held);
  }

  @Test
  void anEntryExpiresAfterItsTtl() {
    MemoryResponseCache cache = new MemoryResponseCache(1, Duration.ofMillis(300));
    cache.put("k", answerOf(10));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> cache.get("k").result() == null), "expired");
  }

  @Test
  void aRedisValueDecodesToTheAnswerStored() {
    CachedAnswer answer = new CachedAnswer("application/json", Buffer.buffer("{\"a\":\"é\\n\"}"));
    CachedAnswer back = CachedAnswer.decode(answer.encode());
    assertNotNull(back);
    assertEquals(answer.contentType(), back.contentType());
    assertEquals(answer.body(), back.body());
  }

  @Test
  void theKeyIsTheCanonicalRequestItsModelPathAndScope() {
    byte[] one = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}"
        .getBytes(StandardCharsets.UTF_8);
    byte[] reordered = "{ \"temperature\": 0, \"messages\": [ {\"content\": \"hi\", \"role\": \"user\"} ], \"model\": \"m\" }"
        .getBytes(StandardCharsets.UTF_8);
    byte[] otherOrderOfMessages = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}],\"temperature\":0}"
        .getBytes(StandardCharsets.UTF_8);
    String key = CacheKey.of("/v1/chat/completions", "m", "a", one);
    assertEquals(key, CacheKey.of("/v1/chat/completions", "m", "a", reordered));
    assertNotEquals(key, CacheKey.of("/v1/chat/completions", "m", "b", one), "another key's scope");
    assertNotEquals(key, CacheKey.of("/v1/completions", "m", "a", one), "another endpoint");
    assertNotEquals(key, CacheKey.of("/v1/chat/completions", "m", "a", otherOrderOfMessages), "other content");
  }
}
