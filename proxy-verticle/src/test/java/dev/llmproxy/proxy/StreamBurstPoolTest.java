package dev.llmproxy.proxy;

import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A burst of streams larger than the backend's pool ({@code max_connections}): the streams that wait in the gateway's
 * own pool queue for longer than {@code connect_timeout} are the gateway's wait, not the backend failing. The backend
 * is not ejected and every stream completes.
 */
@ExtendWith(VertxExtension.class)
class StreamBurstPoolTest {

  private static final int POOL = 2;
  private static final int STREAMS = 16;

  @Test
  void aBurstOfStreamsQueuedBehindASmallPoolEjectsNothingAndEveryStreamCompletes(Vertx vertx) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, 0));
    // Each stream holds its connection ~600 ms (6 chunks, 100 ms apart): the last of 16 on 2 connections waits
    // seconds for one, far longer than the 200 ms connect_timeout.
    JsonObject overrides = new JsonObject().put("backends", new JsonArray().add(new JsonObject()
        .put("name", "only").put("url", backend.baseUrl())
        .put("max_connections", POOL).put("connect_timeout", "200ms").put("timeout", "30s")));
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(proxy.port), new PoolOptions().setHttp1MaxSize(STREAMS));
    String body = new JsonObject().put("model", "mock").put("stream", true).put("max_tokens", 6).encode();

    List<Future<Http.Answer>> answers = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      Promise<Http.Answer> answer = Promise.promise();
      vertx.runOnContext(v -> client.request(new RequestOptions().setMethod(HttpMethod.POST)
              .setURI("/v1/chat/completions").putHeader("Content-Type", "application/json")
              .putHeader("X-Mock-Interval-Ms", "100"))
          .compose(request -> request.send(Buffer.buffer(body)))
          .compose(response -> response.body().map(text -> new Http.Answer(response.statusCode(), response.headers(), text)))
          .onComplete(answer));
      answers.add(answer.future());
    }
    for (Future<Http.Answer> answer : answers) {
      Http.Answer done = answer.toCompletionStage().toCompletableFuture().orTimeout(60, TimeUnit.SECONDS).join();
      assertEquals(200, done.status(), done.text());
      assertTrue(done.text().contains("data: [DONE]"), "a stream ended without [DONE]: " + done.text());
    }
    assertEquals(STREAMS, backend.streamsFinished(), "every stream reached the backend and finished");
    String metrics = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    assertFalse(metrics.contains("llmproxy_backend_ejections_total{backend=\"only\"} 1"), metrics);
    assertTrue(metrics.contains("llmproxy_backend_up{backend=\"only\"} 1.0"), metrics);
  }
}
