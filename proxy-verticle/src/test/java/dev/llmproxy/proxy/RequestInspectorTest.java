package dev.llmproxy.proxy;

import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the gateway reads of a body is checked by name; a body that is not UTF-8 JSON is refused, never corrupted. */
class RequestInspectorTest {

  private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

  @Test
  void aFieldOfTheWrongTypeIsNamed() {
    String[][] cases = {
        {"\"stream\":{}", "'stream' must be true or false"},
        {"\"stream\":\"yes\"", "'stream' must be true or false"},
        {"\"stream\":true,\"stream_options\":[]", "'stream_options' must be an object"},
        {"\"model\":1", "'model' must be a string"},
        {"\"messages\":\"hi\"", "'messages' must be an array"},
        {"\"max_tokens\":\"5\"", "'max_tokens' must be an integer from 0 to 2147483647"},
        {"\"max_tokens\":-1", "'max_tokens' must be an integer from 0 to 2147483647"},
        {"\"max_tokens\":1e400", "'max_tokens' must be an integer from 0 to 2147483647"},
        {"\"max_tokens\":123456789012345678901234567890", "'max_tokens' must be an integer from 0 to 2147483647"},
        {"\"n\":0", "'n' must be an integer from 1 to 2147483647"},
        {"\"model\":\"a\",\"model\":\"b\"", "'model' appears more than once"},
    };
    for (String[] c : cases) {
      GatewayError error = assertThrows(GatewayError.class, () -> inspect("{" + c[0] + "," + MESSAGES + "}"), c[0]);
      assertEquals(400, error.status(), c[0]);
      assertEquals(c[1], error.getMessage(), c[0]);
    }
  }

  @Test
  void nullMeansAbsent() {
    InspectedRequest read = inspect("{\"model\":\"m\",\"stream\":null,\"stream_options\":null,\"max_tokens\":null,"
        + MESSAGES + "}");
    assertEquals("m", read.model());
    assertEquals(false, read.stream());
  }

  @Test
  void aBodyThatIsNotUtf8IsRefusedByName() {
    String body = "{\"model\":\"m\",\"stream\":true," + MESSAGES + "}";
    for (Charset charset : new Charset[] {StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE, StandardCharsets.UTF_16,
        Charset.forName("UTF-32")}) {
      GatewayError error = assertThrows(GatewayError.class, () -> inspect(Buffer.buffer(body.getBytes(charset))),
          charset.name());
      assertEquals("the request body must be UTF-8 JSON; it looks like UTF-16 or UTF-32", error.getMessage());
    }
    byte[] latin1 = "{\"model\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
    GatewayError error = assertThrows(GatewayError.class, () -> inspect(Buffer.buffer(latin1)));
    assertEquals("the request body must be UTF-8 JSON; byte 13 is not valid UTF-8", error.getMessage());
  }

  @Test
  void aUtf8ByteOrderMarkIsDroppedAndUsageStillAskedFor() {
    byte[] body = ("\uFEFF{\"model\":\"m\",\"stream\":true," + MESSAGES + "}").getBytes(StandardCharsets.UTF_8);
    InspectedRequest read = inspect(Buffer.buffer(body));
    assertTrue(read.usageInjected());
    JsonObject forwarded = new JsonObject(read.forwardBody());
    assertEquals(true, forwarded.getJsonObject("stream_options").getBoolean("include_usage"));
    assertEquals('{', read.forwardBody().getByte(0));
  }

  @Test
  void utf8ChecksFollowRfc3629() {
    assertEquals(-1, Utf8.firstInvalid("h\u00e9llo \u20ac \uD83D\uDE00".getBytes(StandardCharsets.UTF_8)));
    assertEquals(1, Utf8.firstInvalid(new byte[] {'a', (byte) 0xC0, (byte) 0xAF}), "overlong");
    assertEquals(0, Utf8.firstInvalid(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), "a surrogate");
    assertEquals(0, Utf8.firstInvalid(new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}), "past U+10FFFF");
    assertEquals(1, Utf8.firstInvalid(new byte[] {'a', (byte) 0xE2, (byte) 0x82}), "cut short");
  }

  private static InspectedRequest inspect(String body) {
    return inspect(Buffer.buffer(body));
  }

  private static InspectedRequest inspect(Buffer body) {
    return RequestInspector.inspect(Endpoint.CHAT_COMPLETIONS, body);
  }
}
