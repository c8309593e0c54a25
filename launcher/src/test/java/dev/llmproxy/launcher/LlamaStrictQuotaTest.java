package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth.quota_enforcement: strict} in front of a real llama.cpp server: a static key's quota runs out while
 * llama streams (it would go on for hundreds of tokens); the client's stream ends cleanly where the gateway's count
 * of prompt + relayed completion reaches the quota, llama stops generating, and the key is refused afterwards.
 */
class LlamaStrictQuotaTest {

  private static final String KEY = "sk-llama-strict-0123456789";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final long QUOTA = 60;
  private static final int MAX_TOKENS = 900;
  private static final String CHAT = "{\"model\":\"tiny\",\"stream\":true,\"max_tokens\":" + MAX_TOKENS
      + ",\"ignore_eos\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a long story.\"}]}";

  @Test
  void aLlamaStreamIsCutWhereTheQuotaRunsOut(@TempDir Path dir) throws Exception {
    try (LlamaServer llama = LlamaServer.start(List.of("--alias", "tiny"));
         RunningGateway gateway = RunningGateway.start(dir, """
             server:
               listen: "{listen}"
             backends:
               - url: "%s"
             auth:
               enabled: true
               quota_enforcement: strict
               pipeline:
                 - name: fixed
                   type: static
                   static:
                     keys:
                       - key: "%s"
                         total_quota: %d
             usage:
               enabled: true
               journal_path: "%s"
             """.formatted(llama.baseUrl(), KEY, QUOTA, dir.resolve("journal")))) {
      HttpResponse<String> streamed = gateway.chat(KEY, CHAT);
      assertEquals(200, streamed.statusCode(), streamed.body());
      List<String> data = new ArrayList<>();
      for (String line : streamed.body().split("\n")) {
        if (line.startsWith("data: ")) {
          data.add(line.substring(6));
        }
      }
      int n = data.size();
      assertEquals("[DONE]", data.get(n - 1), streamed.body());
      assertEquals("quota_exceeded", new JsonObject(data.get(n - 2)).getJsonObject("error").getString("code"));
      assertEquals("length", new JsonObject(data.get(n - 3)).getJsonArray("choices").getJsonObject(0)
          .getString("finish_reason"));

      long completion = 0;
      long largestChunk = 0;
      int contentChunks = 0;
      for (String d : data.subList(0, n - 3)) {
        if (d.startsWith("{") && new JsonObject(d).getValue("choices") instanceof JsonArray choices && !choices.isEmpty()
            && choices.getJsonObject(0).getJsonObject("delta").getValue("content") instanceof String content) {
          long tokens = TokenCounter.count(content);
          completion += tokens;
          largestChunk = Math.max(largestChunk, tokens);
          contentChunks++;
        }
      }
      long prompt = TokenCounter.prompt(CHAT.getBytes(StandardCharsets.UTF_8)).promptTokens();
      long relayed = prompt + completion;
      assertTrue(relayed >= QUOTA && relayed - largestChunk < QUOTA,
          "cut at the chunk that reached the quota: prompt " + prompt + " + completion " + completion + " over "
              + contentChunks + " chunks");
      assertTrue(contentChunks < MAX_TOKENS, "llama would have gone on to " + MAX_TOKENS);

      // llama stopped generating: its slot is free again long before 900 tokens could have been produced there.
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> processing(llama) == 0), "llama's request ended");
      long predicted = predicted(llama);
      assertTrue(predicted < MAX_TOKENS, "llama generated " + predicted + " tokens, not " + MAX_TOKENS);
      System.out.printf("strict quota on llama.cpp: quota %d, prompt %d + completion %d (%d chunks) relayed; llama "
          + "generated %d tokens in all%n", QUOTA, prompt, completion, contentChunks, predicted);

      assertTrue(Poll.until(Duration.ofSeconds(10), () -> modelsStatus(gateway) == 429), "the spent key is refused");
    }
  }

  private static int modelsStatus(RunningGateway gateway) {
    try {
      return gateway.get("/v1/models", "Authorization", "Bearer " + KEY).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static double processing(LlamaServer llama) {
    return metric(llama, "llamacpp:requests_processing");
  }

  private static long predicted(LlamaServer llama) {
    return (long) metric(llama, "llamacpp:tokens_predicted_total");
  }

  private static double metric(LlamaServer llama, String name) {
    try {
      String text = HTTP.send(HttpRequest.newBuilder(URI.create(llama.baseUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      for (String line : text.split("\n")) {
        if (line.startsWith(name + " ")) {
          return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
      }
      return -1;
    } catch (Exception e) {
      return -1;
    }
  }
}
