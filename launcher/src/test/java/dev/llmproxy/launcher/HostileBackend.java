package dev.llmproxy.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A backend that misbehaves on purpose, over a raw socket so that it can lie about lengths and reset connections.
 * The first segment of the request path (the backend URL's base path) names what it does.
 */
final class HostileBackend implements AutoCloseable {

  static final String[] MODES = {"status-500", "reset-mid-stream", "garbage-sse", "never-answers", "huge-body",
      "stalls-mid-json", "json-with-lying-length", "negative-usage", "string-usage", "cr-only-sse", "sse-with-event-lines"};

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "hostile-backend");
    thread.setDaemon(true);
    return thread;
  });

  HostileBackend() throws IOException {
    server = new ServerSocket(0);
    threads.submit(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        threads.submit(() -> serve(socket));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      String requestLine = readHead(in);
      if (requestLine == null) {
        return;
      }
      String path = requestLine.split(" ")[1];
      String mode = path.substring(1, path.indexOf('/', 1));
      OutputStream out = socket.getOutputStream();
      String usage = "{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}";
      String frame = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
          + "\"delta\":{\"content\":\"hello there\"}}]}";
      switch (mode) {
        case "status-500" -> {
          String body = "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}";
          write(out, head(500, "application/json", body.length()) + body);
        }
        case "reset-mid-stream" -> {
          write(out, chunkedHead("text/event-stream") + chunk(frame + "\n\n") + chunk(frame + "\n\n"));
          socket.setSoLinger(true, 0); // closing now sends a reset
        }
        case "reset-after-delay" -> { // not in MODES: Http2FrontTest's backend that fails while its client leaves
          try {
            Thread.sleep(300);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          socket.setSoLinger(true, 0); // closing now sends a reset
        }
        case "garbage-sse" -> write(out, chunkedHead("text/event-stream") + chunk("this is not SSE \u0001\u0002 {{{\n")
            + chunk("neither: is this\n\n") + "0\r\n\r\n");
        case "never-answers" -> in.readAllBytes(); // until the gateway gives up and closes
        case "huge-body" -> {
          int size = 4 << 20;
          String prefix = "{\"id\":\"c\",\"object\":\"chat.completion\",\"usage\":" + usage + ",\"pad\":\"";
          String suffix = "\"}";
          out.write(head(200, "application/json", prefix.length() + size + suffix.length())
              .getBytes(StandardCharsets.ISO_8859_1));
          out.write(prefix.getBytes(StandardCharsets.UTF_8));
          byte[] pad = new byte[64 * 1024];
          java.util.Arrays.fill(pad, (byte) 'x');
          for (int i = 0; i < size / pad.length; i++) {
            out.write(pad);
          }
          out.write(suffix.getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
        case "stalls-mid-json" -> {
          write(out, head(200, "application/json", 1000) + "{\"id\":\"c\",\"choices\":[{\"message\":{\"content\":\"hel");
          in.readAllBytes(); // silent until the gateway cuts it
        }
        case "json-with-lying-length" -> write(out, head(200, "application/json", 5000)
            + "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[]}");
        case "negative-usage" -> json(out, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"hello there\"}}],"
            + "\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":-100,\"total_tokens\":-105}}");
        case "string-usage" -> json(out, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"hello there\"}}],"
            + "\"usage\":{\"prompt_tokens\":\"7\",\"completion_tokens\":\"3\",\"total_tokens\":\"10\"}}");
        case "cr-only-sse" -> write(out, chunkedHead("text/event-stream") + chunk(frame + "\r\r")
            + chunk("data: {\"id\":\"c\",\"choices\":[],\"usage\":" + usage + "}\r\r") + chunk("data: [DONE]\r\r")
            + "0\r\n\r\n");
        case "sse-with-event-lines" -> write(out, chunkedHead("text/event-stream") + chunk("event: chunk\nid: 1\n"
            + frame + "\n\n") + chunk("event: chunk\nid: 2\ndata: {\"id\":\"c\",\"choices\":[],\"usage\":" + usage
            + "}\n\n") + chunk("data: [DONE]\n\n") + "0\r\n\r\n");
        default -> write(out, head(404, "application/json", 2) + "{}");
      }
    } catch (IOException e) {
      // the gateway left
    }
  }

  /** The request line, after reading the head and a body of its Content-Length. */
  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int b;
    while ((b = in.read()) != -1) {
      head.append((char) b);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
        break;
      }
    }
    if (b == -1) {
      return null;
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    in.readNBytes(length);
    return head.substring(0, head.indexOf("\r\n"));
  }

  private static String head(int status, String type, int length) {
    return "HTTP/1.1 " + status + " X\r\nContent-Type: " + type + "\r\nContent-Length: " + length
        + "\r\nConnection: close\r\n\r\n";
  }

  private static String chunkedHead(String type) {
    return "HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  }

  private static String chunk(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return Integer.toHexString(bytes.length) + "\r\n" + text + "\r\n";
  }

  private static void json(OutputStream out, String body) throws IOException {
    write(out, head(200, "application/json", body.getBytes(StandardCharsets.UTF_8).length) + body);
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
