package dev.llmproxy.launcher;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.x over a plain socket, for requests an HTTP client refuses to send (lying lengths, smuggling headers, bad
 * versions, pipelining). Reads answers as they are framed: by Content-Length, chunked, or until the connection closes.
 */
final class RawHttp {

  /** One answer; {@code truncated} when the connection closed before the framing said the body was complete. */
  record Reply(int status, Map<String, String> headers, byte[] body, boolean truncated) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private RawHttp() {
  }

  static byte[] request(String method, String target, String version, Map<String, String> headers, byte[] body) {
    StringBuilder head = new StringBuilder(method).append(' ').append(target).append(' ').append(version).append("\r\n");
    headers.forEach((name, value) -> {
      if (value == null) {
        return;
      }
      int nul = name.indexOf('\u0000');
      head.append(nul < 0 ? name : name.substring(0, nul)).append(": ").append(value).append("\r\n");
    });
    head.append("\r\n");
    return concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), body == null ? new byte[0] : body);
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  /** Sends {@code bytes} and reads up to {@code answers} answers (fewer when the connection closes first). */
  static List<Reply> exchange(int port, byte[] bytes, int answers, int timeoutMs) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(timeoutMs);
      OutputStream out = socket.getOutputStream();
      try {
        out.write(bytes);
        out.flush();
      } catch (IOException e) {
        // The gateway may answer and close before reading everything (a body over the cap): read what it said.
      }
      InputStream in = socket.getInputStream();
      List<Reply> replies = new ArrayList<>();
      while (replies.size() < answers) {
        Reply reply = read(in);
        if (reply == null) {
          break;
        }
        if (reply.status() >= 100 && reply.status() < 200) {
          continue;
        }
        replies.add(reply);
        if (reply.truncated()) {
          break;
        }
      }
      return replies;
    }
  }

  static Reply one(int port, byte[] bytes, int timeoutMs) throws IOException {
    List<Reply> replies = exchange(port, bytes, 1, timeoutMs);
    return replies.isEmpty() ? null : replies.get(0);
  }

  private static Reply read(InputStream in) throws IOException {
    String statusLine;
    try {
      statusLine = line(in);
    } catch (SocketTimeoutException e) {
      return null;
    }
    if (statusLine == null || statusLine.isEmpty()) {
      return null;
    }
    String[] parts = statusLine.split(" ", 3);
    int status = Integer.parseInt(parts[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    String line;
    while ((line = line(in)) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    if (status / 100 == 1 || status == 204 || status == 304) {
      return new Reply(status, headers, new byte[0], false);
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    boolean truncated = false;
    try {
      if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        while (true) {
          String size = line(in);
          if (size == null) {
            truncated = true;
            break;
          }
          int length = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (length == 0) {
            while ((line = line(in)) != null && !line.isEmpty()) {
              // trailers
            }
            break;
          }
          byte[] chunk = in.readNBytes(length);
          body.writeBytes(chunk);
          if (chunk.length < length || line(in) == null) {
            truncated = true;
            break;
          }
        }
      } else if (headers.containsKey("content-length")) {
        int length = Integer.parseInt(headers.get("content-length"));
        byte[] all = in.readNBytes(length);
        body.writeBytes(all);
        truncated = all.length < length;
      } else {
        body.writeBytes(in.readAllBytes());
      }
    } catch (SocketTimeoutException e) {
      // Silence is no answer: a body the gateway neither completes nor cuts leaves its client waiting.
      throw new AssertionError("the answer stalled after " + body.size() + " bytes of its body");
    } catch (IOException e) {
      // A reset mid-body: what came is the answer, and it is incomplete.
      truncated = true;
    }
    return new Reply(status, headers, body.toByteArray(), truncated);
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }
}
