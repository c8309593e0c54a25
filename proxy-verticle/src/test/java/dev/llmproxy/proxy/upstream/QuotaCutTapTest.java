package dev.llmproxy.proxy.upstream;

import dev.llmproxy.common.error.Dialect;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The strict quota cut of a chat stream that generates several choices at once ({@code n > 1}): every choice's text
 * is counted, and the cut ends every choice still open.
 */
class QuotaCutTapTest {

  private static String chunk(int index, String content, String finishReason) {
    JsonObject choice = new JsonObject().put("index", index).put("delta", new JsonObject().put("content", content));
    choice.put("finish_reason", finishReason);
    return "data: " + new JsonObject().put("id", "chatcmpl-n").put("object", "chat.completion.chunk")
        .put("created", 1700000000).put("model", "mock").put("choices", new JsonArray().add(choice)).encode() + "\n\n";
  }

  /** Spends what it is told and says the allowance is spent at {@code limit}. */
  private static final class Meter implements TokenMeter {
    final long limit;
    long spent;

    Meter(long limit) {
      this.limit = limit;
    }

    @Override
    public boolean spend(long tokens) {
      spent += tokens;
      return spent >= limit;
    }
  }

  private static List<JsonObject> frames(String sse) {
    List<JsonObject> frames = new ArrayList<>();
    for (String event : sse.split("\n\n")) {
      if (event.startsWith("data: {")) {
        frames.add(new JsonObject(event.substring("data: ".length())));
      }
    }
    return frames;
  }

  @Test
  void everyChoiceIsCountedAndTheCutEndsEveryOpenChoice() {
    // Three choices; choice 2 ends on its own before the cut, 0 and 1 are still generating when the quota runs out.
    String words = "alpha beta gamma delta ";
    RelayedText one = new RelayedText();
    one.append(words);
    long perChunk = one.tokens();
    Meter meter = new Meter(6 * perChunk);
    QuotaCutTap tap = new QuotaCutTap(ResponseTap.forResponse(true, false), Dialect.OPENAI, meter);
    StringBuilder relayed = new StringBuilder();
    String[] stream = {
        chunk(0, words, null), chunk(1, words, null), chunk(2, words, "stop"),
        chunk(0, words, null), chunk(1, words, null), chunk(1, words, null),
        chunk(0, words, null), chunk(1, words, null)};
    for (String event : stream) {
      Buffer out = tap.onChunk(Buffer.buffer(event));
      if (out != null) {
        relayed.append(out);
      }
      if (tap.cutShort()) {
        break;
      }
    }
    assertTrue(tap.cutShort(), "not cut: " + relayed);
    // Choice 1's and 2's text counted as choice 0's: the sixth chunk of any choice spent the allowance.
    assertEquals(6 * perChunk, meter.spent);
    assertEquals(6 * perChunk, tap.completionTokensEstimate());
    List<JsonObject> frames = frames(relayed.toString());
    List<Integer> endedByCut = new ArrayList<>();
    for (JsonObject frame : frames.subList(6, frames.size())) {
      JsonArray choices = frame.getJsonArray("choices");
      if (choices != null) {
        for (int i = 0; i < choices.size(); i++) {
          assertEquals("length", choices.getJsonObject(i).getString("finish_reason"), frame.encode());
          endedByCut.add(choices.getJsonObject(i).getInteger("index"));
        }
      }
    }
    // Choice 2 had ended with "stop": only the two still open are ended with "length".
    assertEquals(List.of(0, 1), endedByCut, relayed.toString());
    assertTrue(relayed.toString().contains("\"code\":\"quota_exceeded\""), relayed.toString());
    assertTrue(relayed.toString().endsWith("data: [DONE]\n\n"), relayed.toString());
  }
}
