package dev.llmproxy.proxy.balance.engine;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scraper against a real llama.cpp server: its running count follows generations that start and are cut off. */
@ExtendWith(VertxExtension.class)
class EngineLlamaServerTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final String LONG_GENERATION = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
      + "\"max_tokens\":3000,\"ignore_eos\":true,\"stream\":true}";

  @Test
  void runningCountFollowsGenerationsAndTheirCancellation(Vertx vertx) throws Exception {
    try (LlamaServer llama = LlamaServer.start()) {
      AtomicReference<EngineLoad> latest = new AtomicReference<>();
      AtomicInteger failures = new AtomicInteger();
      EngineMetricsScraper scraper = new EngineMetricsScraper(vertx, Duration.ofMillis(200), Duration.ofSeconds(5),
          (url, load) -> {
            if (load == null) {
              failures.incrementAndGet();
            } else {
              latest.set(load);
            }
          });
      HttpClient client = vertx.createHttpClient();
      try {
        scraper.track(List.of(new Backend("llama", llama.baseUrl(), 1, 60_000, 5_000, 10, Map.of(), List.of(), true)));
        scraper.start();
        assertTrue(Poll.until(DEADLINE, () -> latest.get() != null), "a first load; failures " + failures);
        assertEquals("llamacpp", latest.get().engine());
        assertEquals(0, latest.get().running(), "idle at first");

        List<HttpClientResponse> streams = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          HttpClientResponse response = client.request(new RequestOptions().setMethod(HttpMethod.POST)
                  .setHost("127.0.0.1").setPort(llama.port()).setURI("/v1/chat/completions")
                  .putHeader("content-type", "application/json"))
              .compose(request -> request.send(LONG_GENERATION))
              .await(30, TimeUnit.SECONDS);
          assertEquals(200, response.statusCode());
          response.handler(chunk -> { });
          streams.add(response);
        }

        assertTrue(Poll.until(DEADLINE, () -> latest.get().running() >= 1), "running seen: " + latest.get());
        assertEquals(0, latest.get().waiting(), "4 slots for 2 generations: nothing deferred");

        for (HttpClientResponse stream : streams) {
          stream.request().connection().close().await(10, TimeUnit.SECONDS);
        }
        assertTrue(Poll.until(DEADLINE, () -> latest.get().running() == 0), "back to idle: " + latest.get());
        assertEquals(0, failures.get(), "every scrape read");
      } finally {
        scraper.stop();
        client.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
