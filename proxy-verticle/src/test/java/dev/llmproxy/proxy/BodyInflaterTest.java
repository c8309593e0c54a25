package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link BodyInflater} on real gzip and deflate streams, fed whole and byte by byte; and the Content-Type rule. */
class BodyInflaterTest {

  private static final long LIMIT = 1 << 20;
  private static final String TEXT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "hello ".repeat(500)
      + "\"}]}";

  @Test
  void gzipWholeAndByteByByte() throws Exception {
    byte[] zipped = gzip(TEXT.getBytes(StandardCharsets.UTF_8));
    assertEquals(TEXT, inflate("gzip", zipped, zipped.length));
    assertEquals(TEXT, inflate("gzip", zipped, 1));
    assertEquals(TEXT, inflate("x-gzip", zipped, 7));
  }

  @Test
  void gzipWithNameCommentAndTwoMembers() throws Exception {
    byte[] half = TEXT.substring(0, 100).getBytes(StandardCharsets.UTF_8);
    byte[] rest = TEXT.substring(100).getBytes(StandardCharsets.UTF_8);
    byte[] first = gzip(half);
    // FNAME and FCOMMENT set in the first member's header.
    byte[] named = concat(new byte[] {0x1F, (byte) 0x8B, 8, 8 | 16, 0, 0, 0, 0, 0, 3}, "body.json\0".getBytes(
        StandardCharsets.US_ASCII), "a comment\0".getBytes(StandardCharsets.US_ASCII),
        java.util.Arrays.copyOfRange(first, 10, first.length));
    byte[] both = concat(named, gzip(rest));
    assertEquals(TEXT, inflate("gzip", both, both.length));
    assertEquals(TEXT, inflate("gzip", both, 3));
  }

  @Test
  void deflateZlibAndRaw() throws Exception {
    byte[] text = TEXT.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream zlib = new ByteArrayOutputStream();
    try (DeflaterOutputStream out = new DeflaterOutputStream(zlib)) {
      out.write(text);
    }
    assertEquals(TEXT, inflate("deflate", zlib.toByteArray(), 1));
    assertEquals(TEXT, inflate("deflate", zlib.toByteArray(), 4096));
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    try (DeflaterOutputStream out = new DeflaterOutputStream(raw, new Deflater(Deflater.DEFAULT_COMPRESSION, true))) {
      out.write(text);
    }
    assertEquals(TEXT, inflate("deflate", raw.toByteArray(), 1));
    assertEquals(TEXT, inflate("Deflate", raw.toByteArray(), 4096));
  }

  @Test
  void corruptStreamsAre400() throws Exception {
    byte[] zipped = gzip(TEXT.getBytes(StandardCharsets.UTF_8));
    byte[] badCrc = zipped.clone();
    badCrc[badCrc.length - 6] ^= 1;
    byte[] badData = zipped.clone();
    badData[15] ^= (byte) 0xFF;
    for (byte[] bad : new byte[][] {badCrc, badData, java.util.Arrays.copyOf(zipped, zipped.length - 3),
        java.util.Arrays.copyOf(zipped, 5), new byte[0], TEXT.getBytes(StandardCharsets.UTF_8),
        concat(zipped, "garbage".getBytes(StandardCharsets.US_ASCII))}) {
      GatewayError error = assertThrows(GatewayError.class, () -> inflate("gzip", bad, 11));
      assertEquals(ErrorKind.INVALID_REQUEST.status(), error.status());
      assertTrue(error.getMessage().contains("gzip"), error.getMessage());
    }
    GatewayError deflate = assertThrows(GatewayError.class, () -> inflate("deflate", new byte[] {1, 2, 3, 4, 5}, 2));
    assertEquals(400, deflate.status());
  }

  @Test
  void aBombStopsAtTheCap() throws Exception {
    byte[] bomb = gzip(new byte[64 << 20]); // 64 MiB of zeros in about 64 KB
    assertTrue(bomb.length < 128 * 1024);
    Buffer out = Buffer.buffer();
    BodyInflater inflater = BodyInflater.forEncoding(List.of("gzip"), LIMIT,
        () -> new GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, "too large"));
    GatewayError error = assertThrows(GatewayError.class, () -> {
      for (int at = 0; at < bomb.length; at += 8192) {
        inflater.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bomb, at, Math.min(bomb.length, at + 8192))), out);
      }
    });
    assertEquals(413, error.status());
    assertTrue(out.length() <= LIMIT, "no more than the cap was kept: " + out.length());
  }

  @Test
  void unsupportedAndStackedEncodingsAre415() {
    for (List<String> values : List.of(List.of("br"), List.of("zstd"), List.of("compress"), List.of("x-unknown"),
        List.of("gzip, gzip"), List.of("gzip", "deflate"), List.of("deflate, br"))) {
      GatewayError error = assertThrows(GatewayError.class, () -> BodyInflater.forEncoding(values, LIMIT, () -> null));
      assertEquals(415, error.status(), values.toString());
    }
    assertNull(BodyInflater.forEncoding(List.of("identity"), LIMIT, () -> null));
    assertNull(BodyInflater.forEncoding(List.of(""), LIMIT, () -> null));
    assertNull(BodyInflater.forEncoding(List.of("identity, identity"), LIMIT, () -> null));
  }

  @Test
  void contentTypes() {
    for (String accepted : new String[] {null, "", "application/json", "Application/JSON", "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"", "application/json; charset=utf8", "application/vnd.api+json",
        "application/x-www-form-urlencoded", "text/plain;charset=UTF-8"}) {
      assertNull(BodyReadStep.contentTypeRefusal(accepted), accepted);
    }
    for (String refused : new String[] {"multipart/form-data; boundary=x", "text/xml", "application/xml",
        "application/octet-stream", "application/json; charset=utf-16", "application/json; charset=latin1",
        "text/plain; charset=iso-8859-1", "json", "text/html"}) {
      String why = BodyReadStep.contentTypeRefusal(refused);
      assertTrue(why != null && !why.isEmpty(), refused);
    }
  }

  private static String inflate(String encoding, byte[] body, int chunk) {
    Buffer out = Buffer.buffer();
    BodyInflater inflater = BodyInflater.forEncoding(List.of(encoding), LIMIT,
        () -> new GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, "too large"));
    for (int at = 0; at < body.length; at += chunk) {
      inflater.feed(Buffer.buffer(java.util.Arrays.copyOfRange(body, at, Math.min(body.length, at + chunk))), out);
    }
    inflater.finish(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  static byte[] gzip(byte[] data) throws Exception {
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(zipped)) {
      out.write(data);
    }
    return zipped.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      all.writeBytes(part);
    }
    return all.toByteArray();
  }
}
