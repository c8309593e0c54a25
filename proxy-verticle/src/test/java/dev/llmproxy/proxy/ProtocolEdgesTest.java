package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP at its edges, from a raw socket: versions and chunked bodies the decoder takes in but Vert.x would not answer
 * well, HTTP/1.0 clients, and backends whose bodies stall or lie about their length. A behaving backend
 * ({@link MockLlmBackend}) and a misbehaving one (paths below) stand behind one proxy.
 */
@ExtendWith(VertxExtension.class)
class ProtocolEdgesTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String STREAM = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":3,\"messages\":[]}";

  private MockLlmBackend backend;
  private HttpServer misbehaving;
  private ProxyHarness proxy;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    misbehaving = Http.await(vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(b -> {
      HttpServerResponse response = request.response().putHeader("Content-Type", "application/json");
      String opening = "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"message\":{\"content\":\"hel";
      switch (request.path().split("/")[1]) {
        case "chunked-json" -> response.setChunked(true).write(opening).compose(v -> response.end("lo\"}}]}"));
        // A head and part of a body, then silence: only the backend's timeout can end it.
        case "stalls" -> response.putHeader("Content-Length", "1000").write(opening);
        case "stalls-chunked" -> response.setChunked(true).write(opening);
        // A Content-Length it does not honour: the connection closes early.
        case "lies" -> response.putHeader("Content-Length", "5000").write(opening)
            .onComplete(v -> request.connection().close());
        default -> response.setStatusCode(404).end();
      }
    })).listen(0));
  }

  /** A proxy in front of the behaving backend (one proxy per test: they share the test's event bus). */
  private ProxyHarness proxy(Vertx vertx) {
    proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()));
    return proxy;
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private ProxyHarness misbehaving(Vertx vertx, String mode) {
    String url = "http://127.0.0.1:" + misbehaving.actualPort() + "/" + mode;
    // The backend timeout (the longest silence within an answer) is short; idle_timeout stays long.
    return Http.await(ProxyHarness.start(vertx, List.of(url), new JsonObject()
        .put("routing", new JsonObject().put("timeout", "1s").put("retry", new JsonObject().put("enabled", false)))
        .put("server", new JsonObject().put("idle_timeout", "120s"))));
  }

  @Test
  void anUnknownHttpVersionGets505WithABody(Vertx vertx) throws IOException {
    String answer = exchange(proxy(vertx), "POST /v1/chat/completions HTTP/9.9\r\nHost: x\r\nContent-Length: "
        + CHAT.length() + "\r\n\r\n" + CHAT);
    assertTrue(answer.startsWith("HTTP/1.1 505 "), answer);
    assertTrue(answer.contains("\"code\":\"http_version_not_supported\""), answer);
    assertFalse(answer.contains("HTTP/9.9 "), "the bogus version is not echoed: " + answer);
  }

  @Test
  void anUnknownVersionOnTheMessagesApiIsAnsweredInAnthropicsShape(Vertx vertx) throws IOException {
    String answer = exchange(proxy(vertx), "POST /v1/messages HTTP/2.0\r\nHost: x\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 505 "), answer);
    JsonObject body = new JsonObject(answer.substring(answer.indexOf("\r\n\r\n") + 4));
    assertEquals("error", body.getString("type"));
  }

  @Test
  void aMalformedChunkedBodyGets400(Vertx vertx) throws IOException {
    proxy(vertx);
    for (String body : new String[] {"zz\r\n" + CHAT + "\r\n0\r\n\r\n", "5\r\n" + CHAT + "\r\n0\r\n\r\n",
        "-1\r\nab\r\n0\r\n\r\n"}) {
      String answer = exchange(proxy, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
          + body);
      assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
      assertTrue(answer.contains("chunked encoding is malformed"), answer);
    }
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status(), "the proxy serves on");
  }

  @Test
  void aStreamingRequestOverHttp10IsRefusedWith505(Vertx vertx) throws IOException {
    String answer = exchange(proxy(vertx), "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: " + STREAM.length()
        + "\r\n\r\n" + STREAM);
    assertTrue(answer.startsWith("HTTP/1.0 505 ") || answer.startsWith("HTTP/1.1 505 "), answer);
    assertTrue(answer.contains("needs HTTP/1.1"), answer);
    assertEquals(0, backend.completions(), "refused before the backend was asked");
  }

  @Test
  void anHttp10ClientGetsAnAnswerOfUnknownLengthWithItsLength(Vertx vertx) throws Exception {
    ProxyHarness edge = misbehaving(vertx, "chunked-json");
    String answer = exchange(edge, "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: " + CHAT.length()
        + "\r\n\r\n" + CHAT);
    assertTrue(answer.contains(" 200 "), answer);
    String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
    assertTrue(answer.toLowerCase().contains("content-length: " + body.length()), answer);
    assertFalse(answer.toLowerCase().contains("transfer-encoding"), answer);
    assertEquals("hello", new JsonObject(body).getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getString("content"));
    edge.nextUsage();
  }

  @Test
  void aBackendThatStallsInTheMiddleOfAJsonBodyIsCutByItsTimeout(Vertx vertx) throws Exception {
    ProxyHarness edge = misbehaving(vertx, "stalls");
    long start = System.nanoTime();
    String answer = exchange(edge, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + CHAT.length()
        + "\r\n\r\n" + CHAT);
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(answer.contains(" 200 "), answer);
    String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
    assertTrue(body.length() < 1000, "the body is visibly cut short: " + body.length());
    assertTrue(tookMs < 60_000, "cut by the backend timeout (1 s), not idle_timeout (120 s): " + tookMs + " ms");
    UsageRecord record = edge.nextUsage();
    assertTrue(record.aborted(), "the record says the answer broke");
  }

  @Test
  void anAnswerReadWholeThatStallsGets504Once(Vertx vertx) throws Exception {
    ProxyHarness edge = misbehaving(vertx, "stalls-chunked");
    String answer = exchange(edge, "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: " + CHAT.length()
        + "\r\n\r\n" + CHAT);
    assertTrue(answer.contains(" 504 "), answer);
    assertTrue(answer.contains("\"code\":\"upstream_timeout\""), answer);
    edge.nextUsage();
    assertEquals(null, edge.usage.poll(1, java.util.concurrent.TimeUnit.SECONDS), "one record");
  }

  @Test
  void aStreamRequestAnsweredWithJsonAndALyingLengthGetsNoSseFrameAppended(Vertx vertx) throws Exception {
    ProxyHarness edge = misbehaving(vertx, "lies");
    String answer = exchange(edge, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
        + STREAM.length() + "\r\n\r\n" + STREAM);
    assertTrue(answer.contains(" 200 "), answer);
    String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
    assertFalse(body.contains("data:"), "no SSE frame in a JSON body: " + body);
    assertTrue(body.length() < 5000, "the body is visibly cut short");
    edge.nextUsage();
  }

  /** Sends {@code request} on a new connection and reads until the proxy closes it (or resets it). */
  private static String exchange(ProxyHarness proxy, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.port)) {
      socket.setSoTimeout(60_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      try {
        int n;
        while ((n = in.read(buffer)) != -1) {
          out.write(buffer, 0, n);
        }
      } catch (SocketException reset) {
        // a reset ends the answer as a close does
      }
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
