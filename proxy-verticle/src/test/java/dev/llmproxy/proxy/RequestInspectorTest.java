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

  private static long prefix(Endpoint endpoint, int prefixChars, String body) {
    return RequestInspector.inspect(endpoint, Buffer.buffer(body), prefixChars).promptPrefix();
  }

  @Test
  void thePromptPrefixIsTheSystemPromptThenTheConversationUpToPrefixChars() {
    String system = "{\"role\":\"system\",\"content\":\"" + "You are a careful assistant. ".repeat(10) + "\"}";
    String one = "{\"model\":\"m\",\"messages\":[" + system + ",{\"role\":\"user\",\"content\":\"one\"}]}";
    String two = "{\"model\":\"m\",\"messages\":[" + system + ",{\"role\":\"user\",\"content\":\"two\"}]}";
    assertEquals(prefix(Endpoint.CHAT_COMPLETIONS, 100, one), prefix(Endpoint.CHAT_COMPLETIONS, 100, two),
        "the window ends inside the system prompt");
    assertTrue(prefix(Endpoint.CHAT_COMPLETIONS, 4096, one) != prefix(Endpoint.CHAT_COMPLETIONS, 4096, two),
        "the window takes in the question");
    assertTrue(prefix(Endpoint.CHAT_COMPLETIONS, 4096, one) != 0);
    assertEquals(0, prefix(Endpoint.CHAT_COMPLETIONS, 0, one), "prefix_aware off: nothing hashed");
    assertEquals(0, prefix(Endpoint.CHAT_COMPLETIONS, 4096, "{\"model\":\"m\"}"), "no prompt");
    assertEquals(0, prefix(Endpoint.MESSAGES_COUNT_TOKENS, 4096, one), "not an inference");
    // Where one string ends is part of the prefix.
    assertTrue(prefix(Endpoint.COMPLETIONS, 4096, "{\"prompt\":[\"ab\",\"c\"]}")
        != prefix(Endpoint.COMPLETIONS, 4096, "{\"prompt\":[\"a\",\"bc\"]}"));
  }

  @Test
  void everyDialectsPromptIsHashed() {
    String longText = "Shared instructions for the whole team. ".repeat(20);
    // Anthropic: system first, wherever it stands in the body.
    String before = "{\"model\":\"m\",\"system\":\"" + longText + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    String after = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"system\":\"" + longText + "\"}";
    assertEquals(prefix(Endpoint.MESSAGES, 4096, before), prefix(Endpoint.MESSAGES, 4096, after));
    String otherQuestion = before.replace("\"x\"", "\"y\"");
    assertEquals(prefix(Endpoint.MESSAGES, 200, before), prefix(Endpoint.MESSAGES, 200, otherQuestion));
    assertTrue(prefix(Endpoint.MESSAGES, 4096, before) != prefix(Endpoint.MESSAGES, 4096, otherQuestion));
    // Anthropic system as content blocks.
    assertTrue(prefix(Endpoint.MESSAGES, 200, "{\"system\":[{\"type\":\"text\",\"text\":\"" + longText + "\"}]}") != 0);
    // Responses: instructions, then input as a string or items.
    String responses = "{\"model\":\"m\",\"instructions\":\"" + longText + "\",\"input\":\"q1\"}";
    assertEquals(prefix(Endpoint.RESPONSES, 200, responses),
        prefix(Endpoint.RESPONSES, 200, responses.replace("q1", "q2")));
    assertTrue(prefix(Endpoint.RESPONSES, 4096, responses) != prefix(Endpoint.RESPONSES, 4096, responses.replace("q1", "q2")));
    assertTrue(prefix(Endpoint.RESPONSES, 4096, "{\"input\":[{\"role\":\"user\",\"content\":\"hi\"}]}") != 0);
    // Completions: the prompt.
    String completion = "{\"model\":\"m\",\"prompt\":\"" + longText + "\"}";
    assertEquals(prefix(Endpoint.COMPLETIONS, 200, completion),
        prefix(Endpoint.COMPLETIONS, 200, completion.replace("\"}", " and more\"}")));
    assertTrue(prefix(Endpoint.COMPLETIONS, 200, completion) != prefix(Endpoint.MESSAGES, 200, before));
  }

  @Test
  void hashingThePrefixChecksTheBodyAsBefore() {
    GatewayError error = assertThrows(GatewayError.class,
        () -> RequestInspector.inspect(Endpoint.CHAT_COMPLETIONS, Buffer.buffer("{\"messages\":\"hi\"}"), 100));
    assertEquals("'messages' must be an array", error.getMessage());
    error = assertThrows(GatewayError.class,
        () -> RequestInspector.inspect(Endpoint.CHAT_COMPLETIONS, Buffer.buffer("{\"messages\":[{\"a\":1}"), 100));
    assertEquals(400, error.status());
    InspectedRequest read = RequestInspector.inspect(Endpoint.CHAT_COMPLETIONS,
        Buffer.buffer("{\"model\":\"m\",\"stream\":true," + MESSAGES + "}"), 100);
    assertTrue(read.usageInjected(), "usage is still asked for");
    assertEquals("m", read.model());
  }

  private static InspectedRequest inspect(String body) {
    return inspect(Buffer.buffer(body));
  }

  private static InspectedRequest inspect(Buffer body) {
    return RequestInspector.inspect(Endpoint.CHAT_COMPLETIONS, body);
  }
}
