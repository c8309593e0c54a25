package dev.llmproxy.proxy;

import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code backends[].max_idle_conns}: after a burst, no more than that many connections stay open to the backend. */
@ExtendWith(VertxExtension.class)
class BackendIdleConnectionsTest {

  private static final String ANSWER = "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

  @Test
  void aBurstLeavesAtMostMaxIdleConnsOpenToTheBackend(Vertx vertx) throws Exception {
    AtomicInteger open = new AtomicInteger();
    AtomicInteger opened = new AtomicInteger();
    // Every answer comes after 500 ms, so that a burst needs one connection per request.
    HttpServer backend = Http.await(vertx.createHttpServer()
        .connectionHandler(connection -> {
          open.incrementAndGet();
          opened.incrementAndGet();
          connection.closeHandler(v -> open.decrementAndGet());
        })
        .requestHandler(request -> request.body().onSuccess(body -> vertx.setTimer(500, t ->
            request.response().putHeader("Content-Type", "application/json").end(ANSWER))))
        .listen(0, "127.0.0.1"));
    String url = "http://127.0.0.1:" + backend.actualPort();
    JsonObject backends = new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "b0").put("url", url).put("max_idle_conns", 2)));
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(url), backends));

    int burst = 6;
    ExecutorService clients = Executors.newFixedThreadPool(burst);
    try {
      List<CompletableFuture<Http.Answer>> answers = new ArrayList<>();
      for (int i = 0; i < burst; i++) {
        answers.add(CompletableFuture.supplyAsync(() -> Http.post(proxy.client, "/v1/chat/completions",
            "{\"model\":\"m\",\"messages\":[]}"), clients));
      }
      for (CompletableFuture<Http.Answer> answer : answers) {
        assertEquals(200, answer.get().status(), answer.get().text());
      }
    } finally {
      clients.shutdownNow();
    }
    assertTrue(opened.get() > 2, "the burst needed more connections than max_idle_conns: " + opened.get());
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> open.get() <= 2),
        "connections left open to the backend: " + open.get() + " (max_idle_conns 2)");
    // The ones kept are reused: the next request opens nothing new.
    int before = opened.get();
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"m\",\"messages\":[]}").status());
    assertEquals(before, opened.get(), "an idle connection was reused");
  }
}
