package dev.llmproxy.common.tokens;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenCounterTest {

  private static PromptTokens prompt(String json) {
    return TokenCounter.prompt(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void plainTextIsCountedWithCl100k() {
    assertEquals(2, TokenCounter.count("hello world"));
    assertEquals(0, TokenCounter.count(""));
    // cl100k splits this into "tok", "0", " " style pieces: a known, stable count
    assertEquals(TokenCounter.count("tok0 ") + TokenCounter.count("tok1 "), TokenCounter.count("tok0 ") * 2);
  }

  @Test
  void chatMessagesCountTheirContentPlusOpenAisOverhead() {
    // 3 per message + "user" (1) + "hello world" (2), then 3 for the reply priming
    assertEquals(9, prompt("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}").promptTokens());
    // a name costs its tokens plus one
    assertEquals(9 + 1 + TokenCounter.count("bob"),
        prompt("{\"messages\":[{\"role\":\"user\",\"name\":\"bob\",\"content\":\"hello world\"}]}").promptTokens());
  }

  @Test
  void everyRoleCountsAsItsTextDoes() {
    // the usual roles' counts are made once per JVM; any other role is counted as it comes: the same numbers either way
    for (String role : new String[] {"system", "user", "assistant", "tool", "function", "developer", "narrator", "User"}) {
      assertEquals(3 + TokenCounter.count(role) + 2 + 3,
          prompt("{\"messages\":[{\"role\":\"" + role + "\",\"content\":\"hello world\"}]}").promptTokens(), role);
    }
  }

  @Test
  void contentPartsCountOnlyTheirText() {
    PromptTokens parts = prompt("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello\"},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}},{\"type\":\"text\",\"text\":\" world\"}]}]}");
    assertEquals(3 + 1 + TokenCounter.count("hello") + TokenCounter.count(" world") + 3, parts.promptTokens());
  }

  @Test
  void promptAndInputAsStringsArraysOrTokenArrays() {
    assertEquals(2, prompt("{\"prompt\":\"hello world\"}").promptTokens());
    assertEquals(4, prompt("{\"prompt\":[\"hello world\",\"hello world\"]}").promptTokens());
    assertEquals(5, prompt("{\"input\":[1,2,3,4,5]}").promptTokens());
    assertEquals(3, prompt("{\"input\":[[1,2],[3]]}").promptTokens());
  }

  @Test
  void theCompletionBudgetPrefersMaxCompletionTokens() {
    assertEquals(50, prompt("{\"max_tokens\":50}").maxCompletionTokens());
    assertEquals(70, prompt("{\"max_tokens\":50,\"max_completion_tokens\":70}").maxCompletionTokens());
    assertEquals(-1, prompt("{\"messages\":[]}").maxCompletionTokens());
  }

  @Test
  void anthropicMessagesCountTheirSystemPromptAndContentBlocks() {
    long hello = TokenCounter.count("hello world");
    // system as a string, then as text blocks; a message of text blocks (a tool_use block's input is not text)
    String blocks = "[{\"type\":\"text\",\"text\":\"hello world\"}]";
    String message = "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello world\"}]}";
    assertEquals(hello + 9, prompt("{\"model\":\"m\",\"max_tokens\":64,\"system\":\"hello world\",\"messages\":["
        + message + "]}").promptTokens());
    assertEquals(hello + 9, prompt("{\"system\":" + blocks + ",\"messages\":[" + message + "]}").promptTokens());
    assertEquals(64, prompt("{\"max_tokens\":64,\"messages\":[]}").maxCompletionTokens());
  }

  @Test
  void responsesInputCountsAsAStringOrAsItemsWithInstructions() {
    long hello = TokenCounter.count("hello world");
    assertEquals(hello, prompt("{\"model\":\"m\",\"input\":\"hello world\"}").promptTokens());
    // each item like a chat message: 3 + role + content (a string, or input_text parts)
    assertEquals(2 * (3 + 1 + hello) + hello, prompt("{\"instructions\":\"hello world\",\"input\":["
        + "{\"role\":\"user\",\"content\":\"hello world\"},"
        + "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hello world\"}]}]}")
        .promptTokens());
    assertEquals(3 + hello, prompt("{\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c1\","
        + "\"output\":\"hello world\"}]}").promptTokens());
    assertEquals(80, prompt("{\"input\":\"x\",\"max_output_tokens\":80}").maxCompletionTokens());
  }

  @Test
  void toolsCountByTheirJsonText() {
    String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}]";
    assertEquals(TokenCounter.count(tools), prompt("{\"tools\":" + tools + "}").promptTokens());
  }

  @Test
  void aRequestOfManyLargeMessagesIsEncodedExactlyOnlyUpToItsBudget() {
    String text = "hello world ".repeat(1000);
    StringBuilder body = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < 40; i++) {
      body.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"").append(text).append("\"}");
    }
    long counted = prompt(body.append("]}").toString()).promptTokens();
    long exact = 40 * (TokenCounter.count(text) + 4) + 3;
    long estimated = 40 * (text.length() / TokenCounter.CHARS_PER_TOKEN + 4) + 3;
    assertTrue(counted > exact && counted < estimated, exact + " < " + counted + " < " + estimated);
  }

  @Test
  void notJsonIsPlainTextAndHugeTextIsBounded() {
    assertEquals(2, prompt("hello world").promptTokens());
    String huge = "a".repeat(TokenCounter.EXACT_CHARS + 4000);
    long counted = TokenCounter.count(huge);
    assertTrue(counted >= 1000 && counted < huge.length(), "counted " + counted);
  }
}
