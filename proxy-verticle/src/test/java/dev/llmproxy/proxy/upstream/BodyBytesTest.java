package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The parsers read a body where it lies when they can, and always read exactly its bytes. */
class BodyBytesTest {

  private static final byte[] BODY = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

  @Test
  void aBufferThatFillsItsArrayIsReadInPlace() {
    Buffer body = Buffer.buffer(BODY);
    byte[] read = BodyBytes.readOnly(body);
    assertArrayEquals(BODY, read);
    assertSame(read, BodyBytes.readOnly(body), "no copy: the same array each time");
  }

  @Test
  void aPartOfALargerArrayIsCopiedExactly() {
    Buffer larger = Buffer.buffer(BODY.length * 2).appendBytes(BODY); // capacity beyond its length
    assertArrayEquals(BODY, BodyBytes.readOnly(larger));
    Buffer slice = Buffer.buffer("xx".getBytes(StandardCharsets.UTF_8)).appendBytes(BODY).slice(2, 2 + BODY.length);
    assertArrayEquals(BODY, BodyBytes.readOnly(slice));
    Buffer copy = Buffer.buffer(BODY).copy();
    assertArrayEquals(BODY, BodyBytes.readOnly(copy));
    assertNotSame(BodyBytes.readOnly(larger), BodyBytes.readOnly(larger), "a copy each time: not the shared array");
  }
}
