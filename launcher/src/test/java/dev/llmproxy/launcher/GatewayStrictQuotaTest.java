package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth.quota_enforcement}, on the whole gateway with a builtin key and the mock backend. Strict: a stream
 * whose key runs out of quota while it flows is ended cleanly at the token where prompt + completion reach the quota
 * (the last chunk {@code finish_reason: "length"}, an error frame {@code quota_exceeded}, {@code [DONE]}; Anthropic's
 * {@code max_tokens} stop and an {@code error} event on {@code /v1/messages}), the backend's request is cancelled,
 * one usage record holds what was relayed, and the key is refused afterwards. A non-streaming request has its
 * completion budget capped to what is left. Settle (the default): the stream runs to its end and the quota is
 * overdrawn, as before.
 */
class GatewayStrictQuotaTest {

  private static final String CHAT_STREAM = "{\"model\":\"mock\",\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Count for me, one word at a time.\"}]}";
  /** Chunks the mock streams (5 ms apart): far more than the quota lets through. */
  private static final int CHUNKS = 400;
  private static final long QUOTA = 80;

  private static String config(Path dir, String enforcement) {
    return GatewayQuotaTest.builtinKeysWithUsage(dir)
        .replace("auth:\n  enabled: true\n", "auth:\n  enabled: true\n  quota_enforcement: " + enforcement + "\n");
  }

  @Test
  void strictEndsTheStreamWhereTheQuotaRunsOutCancelsTheBackendAndMetersWhatWasRelayed(@TempDir Path dir)
      throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "strict"))) {
      String key = createKey(gateway, QUOTA);
      HttpResponse<String> streamed = gateway.post("/v1/chat/completions", CHAT_STREAM, "Authorization",
          "Bearer " + key, "X-Mock-Chunks", Integer.toString(CHUNKS), "X-Mock-Interval-Ms", "5");
      assertEquals(200, streamed.statusCode(), streamed.body());

      List<String> data = dataLines(streamed.body());
      List<String> contents = new ArrayList<>();
      for (String d : data) {
        if (d.startsWith("{") && new JsonObject(d).getValue("choices") instanceof io.vertx.core.json.JsonArray choices
            && !choices.isEmpty() && choices.getJsonObject(0).getJsonObject("delta").getString("content") != null) {
          contents.add(choices.getJsonObject(0).getJsonObject("delta").getString("content"));
        }
      }
      long prompt = TokenCounter.prompt(CHAT_STREAM.getBytes(StandardCharsets.UTF_8)).promptTokens();
      int expected = chunksUntil(QUOTA - prompt);
      assertTrue(Math.abs(contents.size() - expected) <= 1,
          "cut after " + contents.size() + " chunks, expected " + expected + " (prompt " + prompt + "): " + data);
      assertTrue(contents.size() < CHUNKS);

      // The clean end: finish_reason "length", the quota_exceeded frame, [DONE].
      int n = data.size();
      assertEquals("[DONE]", data.get(n - 1));
      JsonObject error = new JsonObject(data.get(n - 2)).getJsonObject("error");
      assertEquals("quota_exceeded", error.getString("code"), data.get(n - 2));
      JsonObject last = new JsonObject(data.get(n - 3));
      assertEquals("length", last.getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
      assertEquals("chat.completion.chunk", last.getString("object"));

      // The backend saw its request cancelled (its connection closed before its stream ended).
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> gateway.backend.streamsCutByClient() == 1),
          "the backend's stream was cancelled");
      assertEquals(0, gateway.backend.streamsFinished());

      // One usage record, with what was relayed: the prompt as counted plus the completion the client got.
      long relayed = prompt + contents.stream().mapToLong(TokenCounter::count).sum();
      assertTrue(relayed >= QUOTA, "the quota was reached: " + relayed);
      JsonObject totals = new JsonObject();
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
        totals.clear();
        totals.mergeIn(GatewayQuotaTest.usageTotals(gateway, key));
        return totals.getLong("requests", 0L) == 1;
      }), "one usage record: " + totals);
      assertEquals(relayed, totals.getLong("total_tokens"), totals.encode());
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> GatewayQuotaTest.usedQuota(gateway, key) == relayed),
          "charged once: " + GatewayQuotaTest.usedQuota(gateway, key));

      // The key is spent: refused before anything is forwarded.
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> status(gateway, key) == 429), "the spent key is refused");
      HttpResponse<String> refused = gateway.chat(key, CHAT_STREAM);
      assertEquals("quota_exceeded", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
      assertEquals(1, gateway.backend.streamsCutByClient() + gateway.backend.streamsFinished(),
          "the refused request never reached the backend");
      assertEquals(1L, GatewayQuotaTest.usageTotals(gateway, key).getLong("requests"), "no second record");
    }
  }

  @Test
  void strictCutsAnAnthropicStreamWithAMaxTokensStopAndAnErrorEvent(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "strict"))) {
      String key = createKey(gateway, QUOTA);
      String messages = "{\"model\":\"mock\",\"max_tokens\":4000,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Count for me.\"}]}";
      HttpResponse<String> streamed = gateway.post("/v1/messages", messages, "x-api-key", key,
          "anthropic-version", "2023-06-01", "X-Mock-Chunks", Integer.toString(CHUNKS), "X-Mock-Interval-Ms", "5");
      assertEquals(200, streamed.statusCode(), streamed.body());
      List<String> events = eventLines(streamed.body());
      int n = events.size();
      assertEquals("error", events.get(n - 1), events.toString());
      assertEquals("message_delta", events.get(n - 2), events.toString());
      assertEquals("content_block_stop", events.get(n - 3), events.toString());
      List<String> data = dataLines(streamed.body());
      JsonObject delta = new JsonObject(data.get(data.size() - 2));
      assertEquals("max_tokens", delta.getJsonObject("delta").getString("stop_reason"));
      JsonObject error = new JsonObject(data.get(data.size() - 1));
      assertEquals("rate_limit_error", error.getJsonObject("error").getString("type"));
      assertTrue(events.stream().filter("content_block_delta"::equals).count() < CHUNKS);
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> gateway.backend.streamsCutByClient() == 1));
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> status(gateway, key) == 429), "the spent key is refused");
    }
  }

  @Test
  void strictEndsAResponsesStreamAsIncompleteWithAnErrorEvent(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "strict"))) {
      String key = createKey(gateway, QUOTA);
      String request = "{\"model\":\"mock\",\"stream\":true,\"input\":\"Count for me.\"}";
      HttpResponse<String> streamed = gateway.post("/v1/responses", request, "Authorization", "Bearer " + key,
          "X-Mock-Chunks", Integer.toString(CHUNKS), "X-Mock-Interval-Ms", "5");
      assertEquals(200, streamed.statusCode(), streamed.body());
      List<String> events = eventLines(streamed.body());
      int n = events.size();
      assertEquals("error", events.get(n - 1), events.toString());
      assertEquals("response.incomplete", events.get(n - 2), events.toString());
      List<String> data = dataLines(streamed.body());
      JsonObject incomplete = new JsonObject(data.get(data.size() - 2)).getJsonObject("response");
      assertEquals("incomplete", incomplete.getString("status"));
      assertEquals("max_output_tokens", incomplete.getJsonObject("incomplete_details").getString("reason"));
      assertEquals("quota_exceeded", new JsonObject(data.get(data.size() - 1)).getString("code"));
      assertTrue(events.stream().filter("response.output_text.delta"::equals).count() < CHUNKS);
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> gateway.backend.streamsCutByClient() == 1));
    }
  }

  @Test
  void strictCapsANonStreamingRequestToWhatIsLeft(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "strict"))) {
      String key = createKey(gateway, QUOTA);
      String chat = "{\"model\":\"mock\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      HttpResponse<String> answered = gateway.chat(key, chat);
      assertEquals(200, answered.statusCode(), answered.body());
      long prompt = TokenCounter.prompt(chat.getBytes(StandardCharsets.UTF_8)).promptTokens();
      var received = gateway.backend.received();
      assertEquals(QUOTA - prompt, received.get(received.size() - 1).json().getLong("max_tokens"),
          "the completion budget is what is left after the prompt");
    }
  }

  @Test
  void settleLetsTheStreamRunToItsEndAndOverdrawsTheQuota(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "settle"))) {
      String key = createKey(gateway, QUOTA);
      int chunks = 120;
      HttpResponse<String> streamed = gateway.post("/v1/chat/completions", CHAT_STREAM, "Authorization",
          "Bearer " + key, "X-Mock-Chunks", Integer.toString(chunks), "X-Mock-Interval-Ms", "1");
      assertEquals(200, streamed.statusCode());
      List<String> data = dataLines(streamed.body());
      assertEquals("[DONE]", data.get(data.size() - 1));
      assertTrue(data.stream().noneMatch(d -> d.contains("quota_exceeded")), "no cut in settle mode");
      assertEquals(1, gateway.backend.streamsFinished());
      // The mock reports 7 prompt tokens and one completion token a chunk: the key ends up overdrawn.
      long used = 7 + chunks;
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> GatewayQuotaTest.usedQuota(gateway, key) == used),
          "charged in full: " + GatewayQuotaTest.usedQuota(gateway, key));
      assertTrue(used > QUOTA);
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> status(gateway, key) == 429), "then refused");

      // Reloadable: switched to strict, the next key's stream is cut.
      java.nio.file.Files.writeString(gateway.configFile, java.nio.file.Files.readString(gateway.configFile)
          .replace("quota_enforcement: settle", "quota_enforcement: strict"));
      HttpResponse<String> reloaded = gateway.post("/admin/config/reload", "", "X-Admin-Token", GatewayQuotaTest.TOKEN);
      assertEquals(200, reloaded.statusCode(), reloaded.body());
      JsonObject outcome = new JsonObject(reloaded.body()).getJsonObject("data");
      assertTrue(outcome.getJsonArray("applied").contains("proxy"), reloaded.body());
      assertTrue(outcome.getJsonArray("restart_required", new io.vertx.core.json.JsonArray()).isEmpty(), reloaded.body());
      String next = createKey(gateway, QUOTA);
      HttpResponse<String> cut = gateway.post("/v1/chat/completions", CHAT_STREAM, "Authorization", "Bearer " + next,
          "X-Mock-Chunks", Integer.toString(CHUNKS), "X-Mock-Interval-Ms", "5");
      assertTrue(cut.body().contains("\"code\":\"quota_exceeded\""), cut.body());
    }
  }

  /** How many of the mock's chunks it takes for their tokens (as the gateway counts them) to reach {@code room}. */
  private static int chunksUntil(long room) {
    long spent = 0;
    for (int i = 0; i < CHUNKS; i++) {
      spent += TokenCounter.count("tok" + i + " ");
      if (spent >= room) {
        return i + 1;
      }
    }
    return CHUNKS;
  }

  private static List<String> dataLines(String body) {
    List<String> data = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("data: ")) {
        data.add(line.substring(6));
      }
    }
    return data;
  }

  private static List<String> eventLines(String body) {
    List<String> events = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("event: ")) {
        events.add(line.substring(7));
      }
    }
    return events;
  }

  private static int status(RunningGateway gateway, String key) {
    try {
      return gateway.get("/v1/models", "Authorization", "Bearer " + key).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String createKey(RunningGateway gateway, long quota) throws Exception {
    HttpResponse<String> created = GatewayQuotaTest.admin(gateway, "/admin/keys/create",
        new JsonObject().put("name", "strict").put("user_id", "u-strict").put("total_quota", quota));
    assertEquals(200, created.statusCode(), created.body());
    return new JsonObject(created.body()).getJsonObject("data").getString("key");
  }
}
