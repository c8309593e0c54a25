package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VertxExtension.class)
class StreamingProxyTest {

  private MockLlmBackend backend;
  private ProxyHarness proxy;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private static String streamRequest(int maxTokens, boolean includeUsage) {
    JsonObject body = new JsonObject().put("model", "mock").put("stream", true).put("max_tokens", maxTokens)
        .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    if (includeUsage) {
      body.put("stream_options", new JsonObject().put("include_usage", true));
    }
    return body.encode();
  }

  private List<Http.Arrival> streamArrivals(String body, Map<String, String> headers) {
    return Http.streamArrivals(proxy.client, "/v1/chat/completions", body, headers);
  }

  private static String joined(List<Http.Arrival> arrivals) {
    return Http.joined(arrivals);
  }

  @Test
  void chunksSentApartArriveApartNotBatched() {
    List<Http.Arrival> arrivals = streamArrivals(streamRequest(5, true), Map.of("X-Mock-Interval-Ms", "100"));
    List<Long> contentArrivals = new ArrayList<>();
    for (Http.Arrival arrival : arrivals) {
      int frames = arrival.text().split("\"delta\"", -1).length - 1;
      assertTrue(frames <= 1, "two content frames arrived in one chunk: batched");
      if (frames == 1) {
        contentArrivals.add(arrival.atMs());
      }
    }
    assertEquals(5, contentArrivals.size());
    // Sent 100 ms apart, so 400 ms from first to last. One gap may shrink when a loaded machine delays a frame and
    // not the next, but held-back frames would arrive together: the spread is what says they were not.
    long spread = contentArrivals.get(4) - contentArrivals.get(0);
    assertTrue(spread >= 300, "five frames sent over 400 ms arrived within " + spread + " ms: " + contentArrivals);
  }

  @Test
  void streamWithIncludeUsagePassesEveryByteAndReadsUsage() throws Exception {
    String body = streamRequest(4, true);
    String received = joined(streamArrivals(body, Map.of()));

    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      expected.append(MockLlmBackend.contentFrame("mock", i));
    }
    expected.append(MockLlmBackend.usageFrame("mock", 4)).append(MockLlmBackend.DONE_FRAME);
    assertEquals(expected.toString(), received);
    assertEquals(body, backend.received().get(0).body().toString(), "a request that needs no injection is forwarded as it is");

    UsageRecord usage = proxy.nextUsage();
    assertEquals(MockLlmBackend.PROMPT_TOKENS, usage.promptTokens());
    assertEquals(4, usage.completionTokens());
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 4, usage.totalTokens());
    assertTrue(usage.stream());
    assertFalse(usage.estimated());
    assertFalse(usage.aborted());
  }

  @Test
  void streamWithoutIncludeUsageGetsItInjectedAndTheUsageFrameStripped() throws Exception {
    String received = joined(streamArrivals(streamRequest(3, false), Map.of()));

    JsonObject forwarded = backend.received().get(0).json();
    assertEquals(true, forwarded.getJsonObject("stream_options").getBoolean("include_usage"));
    assertEquals("hi", forwarded.getJsonArray("messages").getJsonObject(0).getString("content"));
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      expected.append(MockLlmBackend.contentFrame("mock", i));
    }
    expected.append(MockLlmBackend.DONE_FRAME);
    assertEquals(expected.toString(), received, "the client gets no usage frame it did not ask for");

    UsageRecord usage = proxy.nextUsage();
    assertEquals(3, usage.completionTokens());
    assertFalse(usage.estimated());
  }

  @Test
  void streamOptionsWithoutIncludeUsageIsRewrittenAndStripped() throws Exception {
    String body = new JsonObject().put("model", "mock").put("stream", true).put("max_tokens", 2)
        .put("stream_options", new JsonObject().put("include_usage", false).put("other", 1)).encode();
    String received = joined(streamArrivals(body, Map.of()));

    JsonObject options = backend.received().get(0).json().getJsonObject("stream_options");
    assertEquals(true, options.getBoolean("include_usage"));
    assertEquals(1, options.getInteger("other"));
    assertFalse(received.contains("\"usage\""));
    assertEquals(2, proxy.nextUsage().completionTokens());
  }

  @Test
  void nonStreamingAnswerIsUnchangedAndItsUsageRead() throws Exception {
    String body = "{\"model\":\"mock\",\"max_tokens\":6,\"messages\":[]}";
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", body);

    assertEquals(200, answer.status());
    assertEquals(Buffer.buffer(new JsonObject(backendAnswer(6)).encode()), answer.body());
    assertEquals(body, backend.received().get(0).body().toString());
    UsageRecord usage = proxy.nextUsage();
    assertEquals(6, usage.completionTokens());
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 6, usage.totalTokens());
    assertFalse(usage.stream());
    assertEquals("mock", usage.model());
    assertEquals(backend.baseUrl(), usage.backendUrl());
    assertEquals(200, usage.statusCode());
  }

  private static String backendAnswer(int tokens) {
    return new JsonObject()
        .put("id", "chatcmpl-mock").put("object", "chat.completion").put("created", 1700000000).put("model", "mock")
        .put("choices", new io.vertx.core.json.JsonArray().add(new JsonObject().put("index", 0)
            .put("message", new JsonObject().put("role", "assistant").put("content", "tok ".repeat(tokens)))
            .put("finish_reason", "length")))
        .put("usage", new JsonObject().put("prompt_tokens", MockLlmBackend.PROMPT_TOKENS)
            .put("completion_tokens", tokens).put("total_tokens", MockLlmBackend.PROMPT_TOKENS + tokens)).encode();
  }

  @Test
  void backendWithoutUsageYieldsAnEstimatedRecord() throws Exception {
    joined(streamArrivals(streamRequest(3, false), Map.of("X-Mock-No-Usage", "1")));
    UsageRecord usage = proxy.nextUsage();
    assertTrue(usage.estimated(), "no usage reported: the record must say it is not exact");
  }

  @Test
  void clientAbortResetsTheUpstreamRequest() throws Exception {
    Http.OpenStream stream = Http.openStream(proxy.client, streamRequest(200, false), 50);
    long closedAt = System.nanoTime();
    stream.abort();

    Poll.until(Duration.ofSeconds(5), () -> backend.streamsCutByClient() > 0);
    long tookMs = (System.nanoTime() - closedAt) / 1_000_000;
    assertEquals(1, backend.streamsCutByClient(), "the backend's stream was not cancelled");
    assertTrue(tookMs < 500, "cancelling the upstream took " + tookMs + " ms");
    assertEquals(0, backend.streamsFinished(), "the backend kept generating to the end");
    UsageRecord usage = proxy.nextUsage();
    assertTrue(usage.aborted());
  }

  @Test
  void backendDyingMidStreamEndsTheClientStreamCleanly() throws Exception {
    String received = joined(streamArrivals(streamRequest(10, false), Map.of("X-Mock-Fail-After", "2")));

    assertTrue(received.startsWith(MockLlmBackend.contentFrame("mock", 0) + MockLlmBackend.contentFrame("mock", 1)));
    String last = received.substring(received.lastIndexOf("data: "));
    JsonObject error = new JsonObject(last.substring("data: ".length()).trim()).getJsonObject("error");
    assertEquals("upstream_error", error.getString("code"));
    assertTrue(proxy.nextUsage().aborted());
  }
}
