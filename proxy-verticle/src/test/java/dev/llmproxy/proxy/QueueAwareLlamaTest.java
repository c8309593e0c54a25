package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.LlamaServer;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** queue_aware against two real llama.cpp servers: new work goes to the idle one while the other is saturated. */
@ExtendWith(VertxExtension.class)
class QueueAwareLlamaTest {

  private static final String LONG_STREAM =
      "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":15000,\"ignore_eos\":true,\"stream\":true}";
  private static final String SHORT =
      "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,\"ignore_eos\":true}";

  private LlamaServer busy;
  private LlamaServer idle;
  private final List<HttpClientResponse> saturating = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    // A long context per slot, so that the saturating generations outlast the test.
    busy = LlamaServer.start(List.of("--alias", "tiny", "-c", "65536"));
    idle = LlamaServer.start(List.of("--alias", "tiny"));
  }

  @AfterEach
  void stop() {
    saturating.forEach(response -> response.request().connection().close());
    busy.close();
    idle.close();
  }

  @Test
  void newWorkGoesToTheIdleServer(Vertx vertx) throws Exception {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject()
        .put("backends", new JsonArray()
            .add(new JsonObject().put("name", "busy").put("url", busy.baseUrl()))
            .add(new JsonObject().put("name", "idle").put("url", idle.baseUrl())))
        .put("routing", new JsonObject().put("load_balance", "queue_aware"))));

    TestClient direct = TestClient.create(vertx, new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(busy.port()));
    // Six generations for four slots: four run, two wait (their answers do not even begin).
    for (int i = 0; i < 6; i++) {
      direct.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions"))
          .compose(request -> request.send(LONG_STREAM))
          .onSuccess(saturating::add);
    }
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> llamaGauge(busy, "requests_processing") >= 4),
        "the busy server never reported its slots in use");
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> engineLoad(proxy, "busy") >= 4),
        "the gateway never saw the busy server's load");

    for (int i = 0; i < 6; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", SHORT).status());
      UsageRecord usage = proxy.nextUsage();
      assertEquals(idle.baseUrl(), usage.backendUrl(), "request " + i + " went to the saturated server");
    }
  }

  private static double llamaGauge(LlamaServer server, String name) {
    try {
      java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.baseUrl() + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      Matcher m = Pattern.compile("(?m)^llamacpp:" + name + " ([0-9.eE+-]+)").matcher(metrics.body());
      return m.find() ? Double.parseDouble(m.group(1)) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  private static double engineLoad(ProxyHarness proxy, String backend) {
    String text = Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
    Matcher m = Pattern.compile("llmproxy_backend_engine_load\\{backend=\"" + backend + "\"} ([0-9.eE+-]+|NaN)").matcher(text);
    return m.find() && !m.group(1).equals("NaN") ? Double.parseDouble(m.group(1)) : -1;
  }
}
