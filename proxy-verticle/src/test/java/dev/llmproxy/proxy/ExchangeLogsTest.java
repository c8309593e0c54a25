package dev.llmproxy.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** logging.access lines and logging.request messages for requests through a real proxy to the mock backend. */
@ExtendWith(VertxExtension.class)
class ExchangeLogsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";
  private static final String KEY = "sk-live-123456789abcdef";
  private static final Map<String, String> CLIENT = Map.of("Authorization", "Bearer " + KEY, "User-Agent", "test-agent/1.0",
      "Referer", "https://app.example/\"chat\"", "Content-Type", "application/json");

  private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<JsonObject> requestLogs = new LinkedBlockingQueue<>();
  private final AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent event) {
      lines.add(event.getFormattedMessage());
    }
  };
  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> message.reply(
        new AuthDecision(true, 200, null, null, "id-1", "static", "Team key", "user_7", null, null, null, null, 0).toJson()));
    vertx.eventBus().<JsonObject>consumer(Addresses.REQUEST_LOG, message -> requestLogs.add(message.body()));
    capture.start();
    accessLogger().addAppender(capture);
  }

  @AfterEach
  void stop() {
    accessLogger().detachAppender(capture);
    backend.close();
  }

  private static Logger accessLogger() {
    return (Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME);
  }

  private ProxyHarness proxy(Vertx vertx, JsonObject logging) {
    JsonObject overrides = new JsonObject()
        .put("auth", new JsonObject().put("enabled", true).put("skip_paths", new io.vertx.core.json.JsonArray().add("/health")))
        .put("logging", logging.put("enabled", logging.getBoolean("enabled", true)));
    if (logging.containsKey("request")) {
      // Where the usage module would write; the proxy itself only sends messages.
      logging.getJsonObject("request").put("file", new JsonObject().put("path", "requests.log"));
    }
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
  }

  @Test
  void combinedLinesForAnApiCallAndTheHealthEndpoint(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("access", new JsonObject().put("enabled", true).put("format", "combined")));

    Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions?api_key=" + KEY, CLIENT, CHAT);
    assertEquals(200, ok.status());
    String line = next();
    assertTrue(line.matches("127\\.0\\.0\\.1 - Team_key \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] "
        + "\"POST /v1/chat/completions HTTP/1\\.1\" 200 " + ok.body().length()
        + " \"https://app\\.example/\\\\x22chat\\\\x22\" \"test-agent/1\\.0\" \\d+\\.\\d{3}"), line);
    assertFalse(line.contains(KEY.substring(3)), "no key, not even from the query string: " + line);

    assertEquals(200, Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null).status());
    assertTrue(next().matches("127\\.0\\.0\\.1 - - \\[[^]]+] \"GET /health HTTP/1\\.1\" 200 \\d+ \"-\" \"[^\"]+\" \\d+\\.\\d{3}"));
    assertTrue(requestLogs.isEmpty(), "the request log is off");
  }

  @Test
  void jsonLinesHaveTheRequestModelAndBackend(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("access", new JsonObject().put("enabled", true).put("format", "json")));

    Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", CLIENT, CHAT);
    JsonObject line = new JsonObject(next());
    assertEquals("127.0.0.1", line.getString("remote_addr"));
    assertEquals("Team key", line.getString("user"));
    assertEquals("POST", line.getString("method"));
    assertEquals("/v1/chat/completions", line.getString("path"));
    assertEquals("HTTP/1.1", line.getString("protocol"));
    assertEquals(200, line.getInteger("status"));
    assertEquals(ok.body().length(), line.getLong("bytes_sent"));
    assertEquals("https://app.example/\"chat\"", line.getString("referer"));
    assertEquals("test-agent/1.0", line.getString("user_agent"));
    assertEquals(ok.headers().get("X-Request-ID"), line.getString("request_id"));
    assertEquals("mock", line.getString("model"));
    assertEquals("b0", line.getString("backend"));
    assertTrue(line.getLong("latency_ms") >= 0);
    assertTrue(line.containsKey("request_time") && line.containsKey("time"), line.encode());
    assertFalse(line.encode().contains(KEY.substring(3)), line.encode());
  }

  @Test
  void theScriptDropsLinesItReturnsFalseFor(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("access", new JsonObject().put("enabled", true)
        .put("script", new JsonObject().put("enabled", true).put("script", "return entry.path ~= '/health'"))));

    Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null);
    Http.post(proxy.client, "/v1/chat/completions", CLIENT, CHAT);
    assertTrue(next().contains("POST /v1/chat/completions"), "the health check was skipped, the API call was not");
  }

  @Test
  void seed001ProcessStyleSkipsWithATable(Vertx vertx) throws Exception {
    String script = """
        function process(ctx, log)
          if ctx.request.path == "/health" then return { skip = true } end
          return { skip = false }
        end""";
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("access", new JsonObject().put("enabled", true)
        .put("script", new JsonObject().put("enabled", true).put("script", script))));

    Http.call(proxy.client, HttpMethod.GET, "/health", Map.of(), null);
    Http.call(proxy.client, HttpMethod.GET, "/ready", Map.of(), null);
    assertTrue(next().contains("GET /ready"));
  }

  @Test
  void noLinesUnlessLoggingIsEnabled(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("enabled", false)
        .put("access", new JsonObject().put("enabled", true))
        .put("request", new JsonObject().put("enabled", true)));
    Http.post(proxy.client, "/v1/chat/completions", CLIENT, CHAT);
    proxy.nextUsage();
    assertTrue(lines.isEmpty() && requestLogs.isEmpty());
  }

  @Test
  void requestLogMessageHasMaskedCredentialsAndTheRelayedStream(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("request", new JsonObject().put("enabled", true)
        .put("include_body", true)));

    String streaming = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":3,\"messages\":[]}";
    Http.Answer ok = Http.post(proxy.client, "/v1/chat/completions", CLIENT, streaming);
    JsonObject row = nextRequestLog();
    assertEquals(ok.headers().get("X-Request-ID"), row.getString("request_id"));
    assertEquals("127.0.0.1", row.getString("client_ip"));
    assertEquals("POST", row.getString("method"));
    assertEquals("/v1/chat/completions", row.getString("path"));
    assertEquals(200, row.getInteger("status_code"));
    assertEquals(backend.baseUrl(), row.getString("backend_url"));
    assertEquals("sk-...cdef", row.getString("api_key"));
    assertEquals("id-1", row.getString("key_id"));
    assertEquals("user_7", row.getString("user_id"));
    assertEquals("mock", row.getString("model"));
    assertTrue(row.getBoolean("is_stream"));
    assertNull(row.getString("error"));
    assertEquals(streaming, row.getString("request_body"));
    assertEquals(ok.text(), row.getString("response_body"), "the response body is what the client received");
    assertEquals("test-agent/1.0", row.getJsonObject("headers").getString("user-agent"));
    assertEquals("Bearer sk-...cdef", row.getJsonObject("headers").getString("authorization"));
    assertFalse(row.encode().contains(KEY.substring(3)), row.encode());
    assertTrue(lines.isEmpty(), "the access log is off");
  }

  @Test
  void bodiesOnlyWithIncludeBodyAndCutAt16KiB(Vertx vertx) throws Exception {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("request", new JsonObject().put("enabled", true)));
    Http.post(proxy.client, "/v1/chat/completions", CLIENT, CHAT);
    JsonObject row = nextRequestLog();
    assertNull(row.getValue("request_body"));
    assertNull(row.getValue("response_body"));
    assertEquals(200, row.getInteger("status_code"));

    ProxyHarness withBodies = proxy(vertx, new JsonObject().put("request", new JsonObject().put("enabled", true)
        .put("include_body", true)));
    String big = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(40_000) + "\"}]}";
    Http.Answer ok = Http.post(withBodies.client, "/v1/chat/completions", CLIENT, big);
    assertEquals(200, ok.status());
    JsonObject bigRow = nextRequestLog();
    assertEquals(BodyCapture.LIMIT, bigRow.getString("request_body").length());
    assertTrue(big.startsWith(bigRow.getString("request_body")));
  }

  private String next() throws InterruptedException {
    String line = lines.poll(5, TimeUnit.SECONDS);
    if (line == null) {
      throw new AssertionError("no access line within 5 s");
    }
    return line;
  }

  private JsonObject nextRequestLog() throws InterruptedException {
    JsonObject row = requestLogs.poll(5, TimeUnit.SECONDS);
    if (row == null) {
      throw new AssertionError("no request log message within 5 s");
    }
    return row;
  }
}
