package dev.llmproxy.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backend that keeps a connection open after an answer but then closes it, without a word, when the
 * next request arrives on it: llama.cpp's server does this after every streamed answer. The gateway must
 * send the request again on a fresh connection rather than fail it.
 */
@ExtendWith(VertxExtension.class)
class StaleConnectionTest {

  private static final String ANSWER_BODY = "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

  @Test
  void aRequestMeetingADeadPooledConnectionGoesAgainOnAFreshOne(Vertx vertx) {
    AtomicInteger connections = new AtomicInteger();
    AtomicInteger answered = new AtomicInteger();
    NetServer backend = Http.await(vertx.createNetServer().connectHandler(socket -> {
      connections.incrementAndGet();
      serveOneRequestThenHangUp(socket, answered);
    }).listen(0, "127.0.0.1"));
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx,
        List.of("http://127.0.0.1:" + backend.actualPort()), new JsonObject()));

    for (int i = 0; i < 5; i++) {
      Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"m\"}");
      assertEquals(200, answer.status(), "request " + i + ": " + answer.text());
    }
    assertEquals(5, answered.get());
    assertTrue(connections.get() >= 5, "every answer came on a fresh connection");
  }

  /** Answers the first request on the socket; closes it when a second one starts. */
  private static void serveOneRequestThenHangUp(NetSocket socket, AtomicInteger answered) {
    Buffer seen = Buffer.buffer();
    boolean[] done = {false};
    socket.handler(chunk -> {
      if (done[0]) {
        socket.close();
        return;
      }
      seen.appendBuffer(chunk);
      String text = seen.toString();
      int headersEnd = text.indexOf("\r\n\r\n");
      if (headersEnd < 0) {
        return;
      }
      int length = 0;
      for (String line : text.substring(0, headersEnd).split("\r\n")) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      if (seen.length() < headersEnd + 4 + length) {
        return;
      }
      done[0] = true;
      answered.incrementAndGet();
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nKeep-Alive: timeout=5, max=100\r\n"
          + "Content-Length: " + ANSWER_BODY.length() + "\r\n\r\n" + ANSWER_BODY);
    });
  }
}
