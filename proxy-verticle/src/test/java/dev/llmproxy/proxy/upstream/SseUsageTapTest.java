package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The usage taps read SSE as the spec defines it: every line ending (CRLF, LF, lone CR, split across chunks),
 * {@code event:}/{@code id:}/comment lines, data over several lines; and a backend's nonsense counts are no report.
 */
class SseUsageTapTest {

  private static final String CONTENT = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello there\"}}]}";
  private static final String USAGE = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
      + "\"total_tokens\":10}}";

  /** A stream with one content event, the usage-only event, and [DONE], every line ended by {@code eol}. */
  private static String stream(String eol, String extraLines) {
    return extraLines.replace("\n", eol) + CONTENT + eol + eol
        + extraLines.replace("\n", eol) + USAGE + eol + eol
        + "data: [DONE]" + eol + eol;
  }

  @ParameterizedTest
  @ValueSource(strings = {"\n", "\r\n", "\r"})
  void theTapReadsUsageWhateverTheLineEnding(String eol) {
    for (String extra : new String[] {"", "event: chunk\nid: 42\n: a comment\nretry: 10\n"}) {
      String text = stream(eol, extra);
      for (int size : new int[] {text.length(), 1, 2, 3, 7}) {
        SseUsageTap tap = new SseUsageTap();
        String out = feed(tap, text, size);
        assertEquals(text, out, "the tap changes nothing");
        assertEquals(new Usage(7, 3, 10), tap.usage(), "eol " + escape(eol) + " extra '" + escape(extra) + "' size " + size);
        assertTrue(tap.atFrameBoundary());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"\n", "\r\n", "\r"})
  void theFilterDropsTheUsageEventWhateverTheLineEnding(String eol) {
    for (String extra : new String[] {"", "event: chunk\nid: 42\n: a comment\n"}) {
      String text = stream(eol, extra);
      String expected = extra.replace("\n", eol) + CONTENT + eol + eol + "data: [DONE]" + eol + eol;
      for (int size : new int[] {text.length(), 1, 2, 3, 7}) {
        SseUsageFilter filter = new SseUsageFilter();
        String out = feed(filter, text, size);
        assertEquals(escape(expected), escape(out), "eol " + escape(eol) + " size " + size);
        assertEquals(new Usage(7, 3, 10), filter.usage());
      }
    }
  }

  @Test
  void dataOverSeveralLinesIsOneDocument() {
    SseUsageTap tap = new SseUsageTap();
    feed(tap, "data: {\"choices\":[],\ndata: \"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\n", 5);
    assertEquals(new Usage(2, 1, 3), tap.usage());
  }

  @Test
  void anUnfinishedLastEventStillHasItsUsageRead() {
    SseUsageTap tap = new SseUsageTap();
    feed(tap, CONTENT + "\n\n" + USAGE, 1000);
    assertEquals(new Usage(7, 3, 10), tap.usage());
  }

  @Test
  void aBoundaryIsKnownInTheMiddleOfAnEvent() {
    SseUsageTap tap = new SseUsageTap();
    tap.onChunk(Buffer.buffer("event: chunk\n"));
    assertFalse(tap.atFrameBoundary(), "an event: line opened an event");
    tap.onChunk(Buffer.buffer(CONTENT));
    assertFalse(tap.atFrameBoundary(), "a line is unfinished");
    tap.onChunk(Buffer.buffer("\r\n\r\n"));
    assertTrue(tap.atFrameBoundary());
  }

  @Test
  void nonsenseCountsAreNoReport() {
    for (String usage : new String[] {"{\"prompt_tokens\":-5,\"completion_tokens\":3}",
        "{\"prompt_tokens\":\"7\",\"completion_tokens\":3}", "{\"prompt_tokens\":7.5,\"completion_tokens\":3}",
        "{\"prompt_tokens\":7,\"completion_tokens\":99999999999999999999999}"}) {
      SseUsageTap tap = new SseUsageTap();
      feed(tap, CONTENT + "\n\ndata: {\"choices\":[],\"usage\":" + usage + "}\n\n", 1000);
      assertNull(tap.usage(), usage);
      assertTrue(tap.usageRejected(), usage);
      assertTrue(tap.completionTokensEstimate() > 0, "the relayed text is counted instead");

      SseUsageFilter filter = new SseUsageFilter();
      String out = feed(filter, CONTENT + "\n\ndata: {\"choices\":[],\"usage\":" + usage + "}\n\n", 1000);
      assertFalse(out.contains("usage"), "the event the gateway asked for is still removed: " + out);
      assertNull(filter.usage());
      assertTrue(filter.usageRejected());

      JsonBodyTap json = new JsonBodyTap();
      json.onChunk(Buffer.buffer("{\"choices\":[{\"message\":{\"content\":\"hello there\"}}],\"usage\":" + usage + "}"));
      json.onEnd();
      assertNull(json.usage(), usage);
      assertTrue(json.usageRejected());
      assertTrue(json.completionTokensEstimate() > 0);
    }
  }

  @Test
  void nullCountsAreAbsentNotNonsense() {
    JsonBodyTap json = new JsonBodyTap();
    json.onChunk(Buffer.buffer("{\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":null}}"));
    json.onEnd();
    assertEquals(new Usage(4, 2, 6), json.usage());
    assertFalse(json.usageRejected());
  }

  private static String feed(ResponseTap tap, String text, int size) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    Buffer out = Buffer.buffer();
    for (int i = 0; i < bytes.length; i += size) {
      Buffer passed = tap.onChunk(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, i, Math.min(bytes.length, i + size))));
      if (passed != null) {
        out.appendBuffer(passed);
      }
    }
    Buffer rest = tap.onEnd();
    if (rest != null) {
      out.appendBuffer(rest);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static String escape(String s) {
    return s.replace("\r", "\\r").replace("\n", "\\n");
  }
}
