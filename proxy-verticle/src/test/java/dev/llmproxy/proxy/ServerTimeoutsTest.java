package dev.llmproxy.proxy;

import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code server.read_timeout}, {@code write_timeout} and {@code idle_timeout} as the seed (Go's net/http) means them,
 * on a real server over real sockets. Timeouts are short; no test asserts a tight upper bound on time.
 */
@ExtendWith(VertxExtension.class)
class ServerTimeoutsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private MockLlmBackend backend;

  @AfterEach
  void stop() {
    if (backend != null) {
      backend.close();
    }
  }

  private ProxyHarness proxy(Vertx vertx, String backendUrl, JsonObject server, JsonObject more) {
    return Http.await(ProxyHarness.start(vertx, List.of(backendUrl), new JsonObject().put("server", server).mergeIn(more, true)));
  }

  private static JsonObject timeouts(String read, String write, String idle) {
    return new JsonObject().put("read_timeout", read).put("write_timeout", write).put("idle_timeout", idle);
  }

  @Test
  void idleTimeoutDoesNotCutARequestWaitingForItsBackend(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0)).answerDelay(5000);
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("30s", "60s", "2s"), new JsonObject());

    try (Socket socket = connect(proxy, 60_000)) {
      send(socket, post("/v1/chat/completions", CHAT, true));
      String answer = readToEnd(socket);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertTrue(answer.contains("\"chat.completion\""), "the whole answer arrived: " + answer);
    }
  }

  @Test
  void anIdleKeptAliveConnectionIsClosedAfterIdleTimeout(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("30s", "60s", "1s"), new JsonObject());

    try (Socket socket = connect(proxy, 30_000)) {
      send(socket, "GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n");
      String first = readUntil(socket, "}");
      assertTrue(first.startsWith("HTTP/1.1 200"), first);
      long answeredAt = System.nanoTime();
      // The connection stays open for the next request, then the gateway closes it: the read sees the end.
      assertEquals("", readToEnd(socket));
      long idleMs = (System.nanoTime() - answeredAt) / 1_000_000;
      assertTrue(idleMs >= 800, "closed after " + idleMs + " ms, before idle_timeout");
    }
  }

  @Test
  void aConnectionOnWhichNothingArrivesIsClosedAfterReadTimeoutWithoutAnAnswer(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("1s", "60s", "60s"), new JsonObject());

    // A pooled client connects ahead and sends nothing: an unasked-for 408 would be read as the answer to the request
    // it sends next on that connection.
    try (Socket idle = connect(proxy, 30_000)) {
      long openedAt = System.nanoTime();
      assertEquals("", readToEnd(idle));
      long closedMs = (System.nanoTime() - openedAt) / 1_000_000;
      assertTrue(closedMs >= 800, "closed after " + closedMs + " ms, before read_timeout");
    }
  }

  @Test
  void slowHeadersAreCutByReadTimeoutWhileAnotherClientIsServed(Vertx vertx) throws Exception {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("1s", "60s", "60s"), new JsonObject());

    try (Socket slow = connect(proxy, 30_000)) {
      send(slow, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n");
      Thread dripper = new Thread(() -> drip(slow));
      dripper.setDaemon(true);
      dripper.start();

      Http.Answer other = Http.post(proxy.client, "/v1/chat/completions", CHAT);
      assertEquals(200, other.status(), other.text());

      String reply = readToEnd(slow);
      assertTrue(reply.startsWith("HTTP/1.1 408"), reply);
      JsonObject error = new JsonObject(reply.substring(reply.indexOf("\r\n\r\n") + 4)).getJsonObject("error");
      assertEquals("request_timeout", error.getString("code"));
      dripper.join(30_000);
    }
  }

  @Test
  void aSlowBodyIsCutByReadTimeoutOnTheApi(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("1s", "60s", "60s"), new JsonObject());
    assertSlowBodyGets408(proxy, "/v1/chat/completions");
    assertEquals(0, backend.completions(), "an incomplete request never reaches the backend");
    assertNull(proxy.usage.poll(), "no usage for a request that never arrived");
  }

  @Test
  void aSlowBodyOnTheMessagesApiGetsItsTimeoutInAnthropicsShape(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("1s", "60s", "60s"), new JsonObject());
    String reply = assertSlowBodyGets408(proxy, "/v1/messages");
    assertTrue(reply.contains("\"type\":\"error\""), reply);
  }

  @Test
  void aSlowBodyIsCutByReadTimeoutOnTheAdminApiToo(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    JsonObject admin = new JsonObject().put("admin", new JsonObject().put("enabled", true).put("token", "secret-token"));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("1s", "60s", "60s"), admin);
    assertSlowBodyGets408(proxy, "/admin/keys/create");
  }

  private static String assertSlowBodyGets408(ProxyHarness proxy, String path) throws IOException {
    try (Socket socket = connect(proxy, 30_000)) {
      send(socket, "POST " + path + " HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
          + "X-Admin-Token: secret-token\r\nContent-Length: 100\r\n\r\n{\"model\":");
      String reply = readToEnd(socket);
      assertTrue(reply.startsWith("HTTP/1.1 408"), path + ": " + reply);
      assertTrue(reply.contains("the request did not arrive within server.read_timeout"), reply);
      return reply;
    }
  }

  @Test
  void aClientThatStopsReadingIsDisconnectedAfterWriteTimeout(Vertx vertx) throws Exception {
    AtomicInteger upstreamCut = new AtomicInteger();
    HttpServer endless = Http.await(vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(b -> {
      HttpServerResponse response = request.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
      request.connection().closeHandler(v -> upstreamCut.incrementAndGet());
      writeBigFrames(vertx, response, 0);
    })).listen(0, "127.0.0.1"));
    ProxyHarness proxy = proxy(vertx, "http://127.0.0.1:" + endless.actualPort(), timeouts("30s", "1s", "60s"),
        new JsonObject());

    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", proxy.port));
      String stream = "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      send(socket, post("/v1/chat/completions", stream, false));
      // Reads nothing from now on: the gateway's writes to this client stop making progress.
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> upstreamCut.get() > 0),
          "the stalled client was disconnected and the backend stream reset");
      UsageRecord record = proxy.nextUsage();
      assertTrue(record.aborted(), "the record says the client went away");
      assertNull(proxy.usage.poll(2, TimeUnit.SECONDS), "exactly one usage record");
    }
  }

  /** 16 KiB SSE frames for as long as the gateway takes them (up to 256 MiB), respecting backpressure. */
  private static void writeBigFrames(Vertx vertx, HttpServerResponse response, int sent) {
    String frame = "data: " + new JsonObject().put("object", "chat.completion.chunk").put("choices", new JsonArray()
        .add(new JsonObject().put("index", 0).put("delta", new JsonObject().put("content", "x".repeat(16_000)))))
        .encode() + "\n\n";
    int written = sent;
    while (!response.writeQueueFull() && written < 16_384) {
      if (response.closed()) {
        return;
      }
      response.write(frame);
      written++;
    }
    if (written >= 16_384) {
      response.end();
      return;
    }
    int next = written;
    response.drainHandler(v -> vertx.runOnContext(x -> writeBigFrames(vertx, response, next)));
  }

  @Test
  void aSlowButReadingStreamOutlivesWriteTimeout(Vertx vertx) throws IOException {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    ProxyHarness proxy = proxy(vertx, backend.baseUrl(), timeouts("30s", "2s", "60s"), new JsonObject());

    try (Socket socket = connect(proxy, 60_000)) {
      String stream = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":20,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      send(socket, post("/v1/chat/completions", stream, true).replace("\r\n\r\n", "\r\nX-Mock-Interval-Ms: 500\r\n\r\n"));
      String answer = readToEnd(socket);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertTrue(answer.contains("tok19 ") && answer.contains("[DONE]"), "the whole stream arrived: " + answer);
    }
  }

  // ---- raw HTTP over a socket: the tests need control over when bytes are sent and read -----------------------

  private static Socket connect(ProxyHarness proxy, int readTimeoutMs) throws IOException {
    Socket socket = new Socket("127.0.0.1", proxy.port);
    socket.setSoTimeout(readTimeoutMs);
    return socket;
  }

  private static String post(String path, String body, boolean close) {
    return "POST " + path + " HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" + body;
  }

  private static void send(Socket socket, String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** A header line every 200 ms, as a slowloris client sends, until the gateway closes the connection. */
  private static void drip(Socket socket) {
    for (int i = 0; i < 150; i++) {
      try {
        send(socket, "X-Slow-" + i + ": still coming\r\n");
        Thread.sleep(200);
      } catch (IOException | InterruptedException closed) {
        return;
      }
    }
  }

  /** Everything until the gateway closes the connection (a reset after the answer counts as the end). */
  private static String readToEnd(Socket socket) throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        seen.write(buffer, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the connection was still open; so far: " + seen.toString(StandardCharsets.UTF_8));
    } catch (SocketException reset) {
      // The gateway closed while the client still had unsent bytes: as good as an end here.
    }
    return seen.toString(StandardCharsets.UTF_8);
  }

  private static String readUntil(Socket socket, String marker) throws IOException {
    StringBuilder seen = new StringBuilder();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[8192];
    while (!seen.toString().contains(marker)) {
      int n = in.read(buffer);
      if (n < 0) {
        throw new AssertionError("the connection closed early: " + seen);
      }
      seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
    }
    return seen.toString();
  }
}
