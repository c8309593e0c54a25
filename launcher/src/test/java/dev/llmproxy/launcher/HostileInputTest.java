package dev.llmproxy.launcher;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The hostile-input corpus: malformed JSON, malformed HTTP, path tricks, hostile keys and misbehaving backends sent to
 * one whole gateway (static keys, rate limits, usage with a webhook, admin on the main port), mostly over raw sockets.
 * Every case asserts its status, that an error is the client dialect's error JSON (Anthropic's on
 * {@code /v1/messages}) without Java exception text, that the gateway stays healthy and answers the next normal
 * request. A backend's misbehaviour ends in a clean error or a visibly ended answer, and in exactly one usage record.
 * At the end no log line holds a key unmasked. Slow clients (slowloris heads and bodies, a client that stops reading)
 * are {@code ServerTimeoutsTest}'s, in proxy-verticle.
 */
class HostileInputTest {

  static final String KEY = "sk-hostile-valid-0123456789";
  static final String ADMIN_TOKEN = "admin-token-hostile-0123456789";
  private static final String CHAT = "/v1/chat/completions";
  private static final String MESSAGES = "/v1/messages";
  private static final String GOOD = "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final int MAX_BODY = 2 << 20;
  /** Longer than any timeout of the gateway's config but its idle_timeout (120 s): a wait this long is a hang. */
  private static final int TIMEOUT_MS = 60_000;

  @TempDir
  static Path dir;
  static RunningGateway gateway;
  static HostileBackend hostile;
  static UsageWebhook webhook;
  static final LogCapture logs = new LogCapture();
  static final AtomicInteger ids = new AtomicInteger();

  /** What one case sends and expects. {@code expected} 0: any status the case's own check accepts. */
  record Case(String name, String path, byte[] request, int expected, Check check) {
    @Override
    public String toString() {
      return name;
    }
  }

  interface Check {
    void verify(RawHttp.Reply reply, String requestId) throws Exception;
  }

  @BeforeAll
  static void start() throws Exception {
    webhook = new UsageWebhook();
    hostile = new HostileBackend();
    StringBuilder badBackends = new StringBuilder();
    for (String mode : HostileBackend.MODES) {
      badBackends.append("""
            - name: "%s"
              url: "http://127.0.0.1:%d/%s"
              models: ["%s"]
              timeout: 3s
          """.formatted(mode, hostile.port(), mode, mode));
    }
    gateway = RunningGateway.start(dir, """
        server:
          listen: "{listen}"
          read_timeout: 5s
          max_header_bytes: 65536
          max_body_size: %d
        backends:
          - name: mock
            url: "{backend}"
            models: ["mock"]
        %s
        routing:
          retry:
            enabled: false
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        auth:
          enabled: true
          skip_paths: ["/health", "/ready", "/metrics"]
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "hostile"
        rate_limit:
          enabled: true
          global:
            requests_per_minute: 1000000
          per_key:
            requests_per_minute: 1000000
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: hook
              type: webhook
              webhook:
                url: "%s"
        """.formatted(MAX_BODY, badBackends.toString().stripTrailing(), ADMIN_TOKEN, dir.resolve("keys.db"), KEY,
        dir.resolve("journal"), webhook.url()));
    logs.attach();
  }

  @AfterAll
  static void stop() throws Exception {
    logs.detach();
    if (gateway != null) {
      gateway.close();
    }
    if (hostile != null) {
      hostile.close();
    }
    if (webhook != null) {
      webhook.close();
    }
  }

  @ParameterizedTest(name = "{index} {0}")
  @MethodSource("corpus")
  void answeredCleanlyAndTheGatewayStaysWell(Case c) throws Exception {
    String requestId = "hostile-" + ids.incrementAndGet();
    byte[] request = withRequestId(c.request(), requestId);
    RawHttp.Reply reply = RawHttp.one(gateway.port, request, TIMEOUT_MS);
    assertNotNull(reply, c.name() + ": no answer at all");
    if (c.expected() != 0) {
      assertEquals(c.expected(), reply.status(), c.name() + ": " + reply.text());
    }
    if (reply.status() >= 400 && !c.name().startsWith("backend")) {
      assertDialectError(c.path(), reply);
    }
    assertNoJavaText(c.name(), reply.text());
    if (c.check() != null) {
      c.check().verify(reply, requestId);
    }
    stillWell(c.name());
  }

  /** The gateway answers its health check and a normal request after the case. */
  private static void stillWell(String name) throws Exception {
    assertEquals(200, gateway.get("/health").statusCode(), name + ": /health after the case");
    var normal = gateway.chat(KEY, GOOD);
    assertEquals(200, normal.statusCode(), name + ": a normal request after the case: " + normal.body());
  }

  static void assertDialectError(String path, RawHttp.Reply reply) {
    String type = reply.header("content-type");
    assertTrue(type != null && type.startsWith("application/json"), "an error is JSON: " + reply.headers());
    JsonObject body = new JsonObject(reply.text());
    if (path != null && path.startsWith("/admin/") && body.getValue("error") instanceof String message) {
      // The admin API answers in the original LLMProxy's shape: {"success": false, "error": "..."}.
      assertEquals(false, body.getBoolean("success"), reply.text());
      assertFalse(message.isEmpty());
    } else if (path != null && path.startsWith(MESSAGES)) {
      assertEquals("error", body.getString("type"), reply.text());
      assertNotNull(body.getJsonObject("error").getString("type"), reply.text());
      assertNotNull(body.getJsonObject("error").getString("message"), reply.text());
    } else {
      JsonObject error = body.getJsonObject("error");
      assertNotNull(error, reply.text());
      assertNotNull(error.getString("message"), reply.text());
      assertNotNull(error.getString("type"), reply.text());
    }
  }

  static void assertNoJavaText(String name, String text) {
    for (String telltale : new String[] {"Exception", "java.", "io.vertx", "io.netty", "\tat ", "dev.llmproxy"}) {
      assertFalse(text.contains(telltale), name + ": Java text in the reply: " + text);
    }
  }

  static Stream<Case> corpus() throws Exception {
    List<Case> cases = new ArrayList<>();
    json(cases);
    http(cases);
    paths(cases);
    keys(cases);
    backends(cases);
    return cases.stream();
  }

  // ---------------------------------------------------------------------------------------------------- JSON bodies

  private static void json(List<Case> cases) throws Exception {
    Map<String, byte[]> bad400 = new LinkedHashMap<>();
    bad400.put("empty body", new byte[0]);
    bad400.put("whitespace only", utf8("   \n "));
    bad400.put("truncated", utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\""));
    bad400.put("unterminated object", utf8("{\"model\":\"mock\""));
    bad400.put("an array", utf8("[]"));
    bad400.put("a string", utf8("\"hello\""));
    bad400.put("a number", utf8("123"));
    bad400.put("null", utf8("null"));
    bad400.put("two objects", utf8(GOOD + GOOD));
    bad400.put("trailing garbage", utf8(GOOD + " xyz"));
    bad400.put("comments", utf8("/* c */" + GOOD));
    bad400.put("single quotes", utf8("{'model':'mock','messages':[]}"));
    bad400.put("NaN", utf8("{\"model\":\"mock\",\"temperature\":NaN,\"messages\":[]}"));
    for (String value : new String[] {"1", "[]", "{}", "true"}) {
      bad400.put("model " + value, utf8(with("\"model\":" + value)));
    }
    for (String value : new String[] {"\"hi\"", "{}", "5", "true"}) {
      bad400.put("messages " + value, utf8("{\"model\":\"mock\",\"messages\":" + value + "}"));
    }
    for (String value : new String[] {"\"yes\"", "1", "{}", "[]", "\"true\""}) {
      bad400.put("stream " + value, utf8(with("\"stream\":" + value)));
    }
    for (String value : new String[] {"[]", "\"x\"", "1", "true"}) {
      bad400.put("stream_options " + value, utf8(with("\"stream\":true,\"stream_options\":" + value)));
    }
    for (String value : new String[] {"\"5\"", "-1", "1.5", "1e400", "123456789012345678901234567890", "{}"}) {
      bad400.put("max_tokens " + value, utf8(with("\"max_tokens\":" + value)));
    }
    for (String value : new String[] {"\"2\"", "0", "1e3", "99999999999"}) {
      bad400.put("n " + value, utf8(with("\"n\":" + value)));
    }
    bad400.put("10k-deep nesting beside", utf8(with("\"x\":" + "[".repeat(10_000) + "]".repeat(10_000))));
    bad400.put("10k-deep nesting in messages", utf8("{\"model\":\"mock\",\"messages\":" + "[".repeat(10_000)
        + "]".repeat(10_000) + "}"));
    bad400.put("duplicate model", utf8(with("\"model\":\"other\"")));
    bad400.put("duplicate stream", utf8(with("\"stream\":false,\"stream\":true")));
    bad400.put("invalid UTF-8", RawHttp.concat(utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\""),
        new byte[] {(byte) 0xC3, 0x28}, utf8("\"}]}")));
    bad400.put("overlong UTF-8", RawHttp.concat(utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\""),
        new byte[] {(byte) 0xC0, (byte) 0xAF}, utf8("\"}]}")));
    bad400.put("UTF-8 surrogate", RawHttp.concat(utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\""),
        new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, utf8("\"}]}")));
    bad400.put("NUL in a string", utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"a\u0000b\"}]}"));
    bad400.put("NUL outside strings", utf8("{\"model\":\"mock\",\u0000\"messages\":[]}"));
    bad400.put("UTF-16LE with BOM", RawHttp.concat(new byte[] {(byte) 0xFF, (byte) 0xFE},
        GOOD.getBytes(StandardCharsets.UTF_16LE)));
    bad400.put("UTF-16BE", GOOD.getBytes(StandardCharsets.UTF_16BE));
    bad400.put("UTF-32", GOOD.getBytes(Charset.forName("UTF-32")));
    bad400.put("latin-1", with("\"user\":\"caf\u00e9\"").getBytes(StandardCharsets.ISO_8859_1));
    Map<String, byte[]> fine = new LinkedHashMap<>();
    fine.put("escaped NUL", utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}"));
    fine.put("UTF-8 BOM", RawHttp.concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, utf8(GOOD)));
    fine.put("megabyte string", utf8("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\""
        + "a".repeat(1 << 20) + "\"}]}"));
    fine.put("duplicate unread field", utf8(with("\"temperature\":1,\"temperature\":0.5")));
    fine.put("stream null", utf8(with("\"stream\":null")));
    fine.put("stream true", utf8(with("\"stream\":true")));
    for (String path : new String[] {CHAT, MESSAGES}) {
      bad400.forEach((name, body) -> cases.add(new Case("json " + path + " " + name, path, post(path, body), 400,
          null)));
      fine.forEach((name, body) -> cases.add(new Case("json " + path + " " + name, path, post(path, body), 200,
          null)));
    }
    cases.add(new Case("json unknown model", CHAT, post(CHAT, utf8(GOOD.replace("\"mock\"", "\"nope\""))), 404, null));
    for (String path : new String[] {"/v1/completions", "/v1/responses", "/v1/embeddings"}) {
      cases.add(new Case("json " + path + " truncated", path, post(path, utf8("{\"model\":")), 400, null));
      cases.add(new Case("json " + path + " stream yes", path, post(path, utf8("{\"model\":\"mock\",\"stream\":\"yes\"}")),
          400, null));
      cases.add(new Case("json " + path + " UTF-16", path, post(path, "{\"model\":\"mock\"}".getBytes(
          StandardCharsets.UTF_16LE)), 400, null));
    }
  }

  /** {@link #GOOD} with one more member first (so a duplicate of a later member is the second). */
  private static String with(String member) {
    return "{" + member + "," + GOOD.substring(1);
  }

  // ---------------------------------------------------------------------------------------------------------- HTTP

  private static void http(List<Case> cases) throws Exception {
    byte[] good = utf8(GOOD);
    cases.add(new Case("http body over the cap (Content-Length)", CHAT, post(CHAT, new byte[MAX_BODY + 1]), 413, null));
    cases.add(new Case("http body over the cap (chunked)", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), chunked(new byte[MAX_BODY + 1])), 413, null));
    cases.add(new Case("http chunk shorter than its size", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), utf8("ff\r\n" + GOOD + "\r\n0\r\n\r\n")), 0, status(400, 408)));
    cases.add(new Case("http chunk longer than its size", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), utf8("5\r\n" + GOOD + "\r\n0\r\n\r\n")), 400, null));
    cases.add(new Case("http chunk size not hex", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), utf8("zz\r\n" + GOOD + "\r\n0\r\n\r\n")), 400, null));
    cases.add(new Case("http chunk size overflow", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), utf8("ffffffffffffffffff\r\nab\r\n0\r\n\r\n")), 0, status(400, 413)));
    cases.add(new Case("http negative chunk size", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked"), utf8("-5\r\nab\r\n0\r\n\r\n")), 400, null));
    cases.add(new Case("http Content-Length longer than the body", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Content-Length", Integer.toString(good.length + 50)), good), 408, null));
    cases.add(new Case("http Content-Length shorter than the body", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Content-Length", Integer.toString(good.length - 10)), good), 400, null));
    cases.add(new Case("http negative Content-Length", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Content-Length", "-1"), good), 400, null));
    cases.add(new Case("http Content-Length not a number", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Content-Length", "abc"), good), 400, null));
    cases.add(new Case("http two different Content-Lengths", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Content-Length", Integer.toString(good.length), "Content-Length", "3"), good), 400, null));
    byte[] smuggled = utf8(Integer.toHexString(good.length) + "\r\n" + GOOD + "\r\n0\r\n\r\nGET /admin/keys/list HTTP/1.1\r\n"
        + "Host: x\r\n\r\n");
    for (String te : new String[] {"chunked", "chunked, identity", "identity, chunked", " chunked", "CHUNKED",
        "xchunked", "chunked\t", "gzip, chunked"}) {
      cases.add(new Case("http CL+TE '" + te + "'", CHAT, raw("POST", CHAT, "HTTP/1.1",
          headers("Content-Length", "4", "Transfer-Encoding", te), smuggled), 0, notSmuggled()));
    }
    cases.add(new Case("http two Transfer-Encoding headers", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "chunked", "Transfer-Encoding", "identity"), smuggled), 0, notSmuggled()));
    cases.add(new Case("http Transfer-Encoding identity only", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("Transfer-Encoding", "identity", "Content-Length", Integer.toString(good.length)), good), 0,
        notSmuggled()));
    contentTypesAndEncodings(cases, good);
    cases.add(new Case("http Expect: 100-continue", CHAT, raw("POST", CHAT, "HTTP/1.1", headers("Expect",
        "100-continue", "Content-Length", Integer.toString(good.length)), good), 200, null));
    cases.add(new Case("http unknown Expect", CHAT, raw("POST", CHAT, "HTTP/1.1", headers("Expect", "200-ok",
        "Content-Length", Integer.toString(good.length)), good), 0, status(200, 417)));
    cases.add(new Case("http HTTP/1.0", CHAT, raw("POST", CHAT, "HTTP/1.0", headers("Content-Length",
        Integer.toString(good.length)), good), 200, (reply, id) -> assertNotNull(reply.header("content-length"))));
    byte[] streaming = utf8(with("\"stream\":true"));
    cases.add(new Case("http HTTP/1.0 stream", CHAT, raw("POST", CHAT, "HTTP/1.0", headers("Content-Length",
        Integer.toString(streaming.length)), streaming), 505, null));
    cases.add(new Case("http HTTP/1.0 stream on messages", MESSAGES, raw("POST", MESSAGES, "HTTP/1.0",
        headers("Content-Length", Integer.toString(streaming.length)), streaming), 505, null));
    cases.add(new Case("http HTTP/1.0 models", "/v1/models", raw("GET", "/v1/models", "HTTP/1.0", headers(), null),
        200, null));
    cases.add(new Case("http pipelined requests", CHAT, RawHttp.concat(
        raw("POST", CHAT, "HTTP/1.1", headers("Content-Length", Integer.toString(good.length), "Connection",
            "keep-alive"), good),
        raw("POST", CHAT, "HTTP/1.1", headers("Content-Length", Integer.toString(good.length)), good)), 200,
        (reply, id) -> { }));
    Map<String, String> flood = headers();
    for (int i = 0; i < 5000; i++) {
      flood.put("X-Flood-" + i, "v");
    }
    cases.add(new Case("http header flood", CHAT, raw("POST", CHAT, "HTTP/1.1", flood, good), 431, null));
    cases.add(new Case("http header flood on messages", MESSAGES, raw("POST", MESSAGES, "HTTP/1.1", flood, good), 431,
        null));
    cases.add(new Case("http giant header on messages", MESSAGES, raw("POST", MESSAGES, "HTTP/1.1",
        headers("X-Big", "b".repeat(100_000)), good), 431, null));
    cases.add(new Case("http giant header", CHAT, raw("POST", CHAT, "HTTP/1.1", headers("X-Big", "b".repeat(100_000)),
        good), 431, null));
    cases.add(new Case("http giant URL", CHAT, raw("POST", CHAT + "?q=" + "u".repeat(100_000), "HTTP/1.1", headers(),
        good), 414, null));
    for (String method : new String[] {"GET", "PUT", "DELETE", "PATCH", "TRACE", "FOO", "post"}) {
      cases.add(new Case("http method " + method, CHAT, raw(method, CHAT, "HTTP/1.1", headers("Content-Length",
          Integer.toString(good.length)), good), 405, null));
    }
    cases.add(new Case("http method with bad characters", CHAT, raw("PO(ST", CHAT, "HTTP/1.1", headers(), null), 400,
        null));
    for (String version : new String[] {"HTTP/9.9", "HTTP/2.0", "HTTP/1.2"}) {
      cases.add(new Case("http version " + version, CHAT, raw("POST", CHAT, version, headers("Content-Length",
          Integer.toString(good.length)), good), 505, null));
    }
    cases.add(new Case("http version of another protocol", CHAT, raw("POST", CHAT, "FTP/1.1", headers(), null), 505,
        null));
    cases.add(new Case("http version garbage", CHAT, raw("POST", CHAT, "HTTP/x.y", headers(), null), 400, null));
    cases.add(new Case("http version on messages", MESSAGES, raw("POST", MESSAGES, "HTTP/3.0", headers(), null), 505,
        null));
    cases.add(new Case("http request line without version", CHAT, utf8("POST " + CHAT + "\r\n\r\n"), 0,
        status(400, 505)));
    cases.add(new Case("http header without colon", CHAT, raw("POST", CHAT, "HTTP/1.1", headers("Bad Header", "x"),
        good), 400, null));
    cases.add(new Case("http control character in a header", CHAT, raw("POST", CHAT, "HTTP/1.1",
        headers("X-Bad", "a\u0001b"), good), 0, status(200, 400)));
  }

  /**
   * Content-Type and Content-Encoding on the JSON routes: JSON types (and, for curl -d and fetch, form and text/plain
   * with a JSON body, or none) pass; other types and charsets get 415; gzip and deflate are inflated (the backend gets
   * the JSON: the mock answers 200 only to a body it can read), a bomb gets 413, corrupt data 400, other or stacked
   * encodings 415.
   */
  private static void contentTypesAndEncodings(List<Case> cases, byte[] good) throws Exception {
    for (String type : new String[] {null, "text/plain", "application/x-www-form-urlencoded", "application/json",
        "application/json; charset=utf-8", "application/json;charset=UTF-8", "application/vnd.llm+json"}) {
      Map<String, String> h = headers("Content-Length", Integer.toString(good.length));
      if (type != null) {
        h.put("Content-Type", type);
      }
      for (String path : new String[] {CHAT, MESSAGES}) {
        cases.add(new Case("http content type " + type + " on " + path, path, raw("POST", path, "HTTP/1.1", h, good),
            200, null));
      }
    }
    for (String type : new String[] {"multipart/form-data; boundary=x", "text/xml", "application/xml",
        "application/octet-stream", "application/json; charset=utf-16", "application/json; charset=iso-8859-1",
        "text/plain; charset=latin1", "nonsense"}) {
      for (String path : new String[] {CHAT, MESSAGES, "/v1/embeddings"}) {
        cases.add(new Case("http content type " + type + " on " + path, path, raw("POST", path, "HTTP/1.1",
            headers("Content-Type", type, "Content-Length", Integer.toString(good.length)), good), 415,
            (reply, id) -> assertTrue(reply.text().contains("Content-Type"), reply.text())));
      }
    }
    cases.add(new Case("http form body that is not JSON", CHAT, raw("POST", CHAT, "HTTP/1.1", headers("Content-Type",
        "application/x-www-form-urlencoded", "Content-Length", "11"), utf8("model=mock&")), 400, null));
    byte[] zipped = gzipped(good);
    java.io.ByteArrayOutputStream deflated = new java.io.ByteArrayOutputStream();
    try (java.util.zip.DeflaterOutputStream out = new java.util.zip.DeflaterOutputStream(deflated)) {
      out.write(good);
    }
    // 64 MiB of zero bytes after the JSON, in about 64 KB: stopped at the cap of 2 MiB, without inflating it all.
    byte[] bomb = gzipped(RawHttp.concat(good, new byte[64 << 20]));
    for (String path : new String[] {CHAT, MESSAGES}) {
      cases.add(new Case("http gzip body on " + path, path, encoded(path, "gzip", zipped), 200, null));
      cases.add(new Case("http deflate body on " + path, path, encoded(path, "deflate", deflated.toByteArray()), 200,
          null));
      cases.add(new Case("http identity encoding on " + path, path, encoded(path, "identity", good), 200, null));
      cases.add(new Case("http gzip body chunked on " + path, path, raw("POST", path, "HTTP/1.1", headers(
          "Content-Type", "application/json", "Content-Encoding", "gzip", "Transfer-Encoding", "chunked"),
          chunked(zipped)), 200, null));
      cases.add(new Case("http gzip bomb on " + path, path, encoded(path, "gzip", bomb), 413, null));
      byte[] corrupt = zipped.clone();
      corrupt[corrupt.length - 6] ^= 1;
      cases.add(new Case("http gzip with a bad CRC on " + path, path, encoded(path, "gzip", corrupt), 400, null));
      cases.add(new Case("http gzip cut short on " + path, path, encoded(path, "gzip",
          java.util.Arrays.copyOf(zipped, zipped.length / 2)), 400, null));
      cases.add(new Case("http gzip declared, plain sent, on " + path, path, encoded(path, "gzip", good), 400, null));
      for (String encoding : new String[] {"br", "zstd", "compress", "x-unknown", "gzip, gzip", "gzip, br"}) {
        cases.add(new Case("http Content-Encoding " + encoding + " on " + path, path, encoded(path, encoding, zipped),
            415, (reply, id) -> assertTrue(reply.text().contains("Content-Encoding"), reply.text())));
      }
    }
    cases.add(new Case("http two Content-Encoding headers", CHAT, raw("POST", CHAT, "HTTP/1.1", headers(
        "Content-Type", "application/json", "Content-Encoding", "gzip", "Content-Encoding", "gzip", "Content-Length",
        Integer.toString(zipped.length)), zipped), 415, null));
  }

  private static byte[] encoded(String path, String encoding, byte[] body) {
    return raw("POST", path, "HTTP/1.1", headers("Content-Type", "application/json", "Content-Encoding", encoding,
        "Content-Length", Integer.toString(body.length)), body);
  }

  private static byte[] gzipped(byte[] body) throws Exception {
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(zipped)) {
      gzip.write(body);
    }
    return zipped.toByteArray();
  }

  // --------------------------------------------------------------------------------------------------------- paths

  private static void paths(List<Case> cases) {
    String[][] refused = {
        {"/admin/../admin/keys/list", "400"}, {"/v1/../admin/keys/list", "400"}, {"/v1/%2e%2e/admin/keys/list", "400"},
        {"/v1/%2E%2E/admin/keys/list", "400"}, {"/v1%2f..%2fadmin/keys/list", "400"}, {"//admin/keys/list", "400"},
        {"/admin//keys/list", "400"}, {"/admin;x/keys/list", "400"}, {"/health/../admin/keys/list", "400"},
        {"/health%2f..%2fadmin/keys/list", "400"}, {"/health/%2e%2e/admin/keys/list", "400"},
        {"/v1/chat/completions/../../admin/keys/list", "400"}, {"/admin/keys/list", "401"},
        {"/ADMIN/keys/list", "401"}, {"/Admin/keys/list", "401"}, {"/%61dmin/keys/list", "400"},
        {"/admin%2fkeys%2flist", "400"}, {"/admin/keys/list%00", "400"}, {"/health/x", "401"},
        {"/HEALTH", "401"}, {"/v1/models", "401"}, {"/V1/chat/completions", "401"}, {"/metrics/../admin/keys/list", "400"},
        {"/admin/keys/%2e%2e/keys/list", "400"}, {"/admin/./keys/list", "400"}, {"/admin/%252e%252e/keys/list", "400"},
    };
    for (String[] path : refused) {
      int expected = Integer.parseInt(path[1]);
      cases.add(new Case("path " + path[0], path[0], raw("GET", path[0], "HTTP/1.1", headers("Authorization", null),
          null), expected, null));
    }
    cases.add(new Case("path absolute form", "/admin/keys/list", raw("GET", "http://evil.example/admin/keys/list",
        "HTTP/1.1", headers("Authorization", null), null), 0, status(400, 401)));
    cases.add(new Case("path admin with an API key but no token", "/admin/keys/list", raw("GET", "/admin/keys/list",
        "HTTP/1.1", headers("Authorization", "Bearer " + KEY), null), 0, status(401, 403)));
    cases.add(new Case("path admin with a wrong token", "/admin/keys/list", raw("GET", "/admin/keys/list",
        "HTTP/1.1", headers("Authorization", "Bearer " + KEY, "X-Admin-Token", "wrong"), null), 0, status(401, 403)));
    cases.add(new Case("path case trick with a key", "/ADMIN/keys/list", raw("GET", "/ADMIN/keys/list", "HTTP/1.1",
        headers("Authorization", "Bearer " + KEY), null), 404, null));
    cases.add(new Case("path admin token without a key", "/admin/keys/list", raw("GET", "/admin/keys/list",
        "HTTP/1.1", headers("Authorization", null, "X-Admin-Token", ADMIN_TOKEN), null), 401, null));
  }

  // ---------------------------------------------------------------------------------------------------------- keys

  private static void keys(List<Case> cases) {
    byte[] good = utf8(GOOD);
    String[][] keys = {{"no key", null}, {"empty bearer", "Bearer "}, {"basic scheme", "Basic dXNlcjpwYXNz"},
        {"unknown key", "Bearer sk-unknown-0123456789"}, {"key of 1025 characters", "Bearer " + "k".repeat(1025)},
        {"key of 60 KB", "Bearer " + "k".repeat(60_000)}, {"key with spaces", "Bearer sk hostile valid"},
        {"key with non-ASCII", "Bearer sk-h\u00f6stile"}};
    for (String[] key : keys) {
      Map<String, String> h = headers("Content-Length", Integer.toString(good.length), "Authorization", key[1]);
      for (String path : new String[] {CHAT, MESSAGES}) {
        cases.add(new Case("key " + key[0] + " on " + path, path, raw("POST", path, "HTTP/1.1", h, good), 401, null));
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------ backends

  private static void backends(List<Case> cases) {
    cases.add(backend("status-500", false, 500, (reply, id) -> assertEquals(1, usageRecords(id))));
    cases.add(backend("reset-mid-stream", true, 200, (reply, id) -> {
      assertTrue(reply.text().contains("\"error\""), "the stream ends on an error frame: " + reply.text());
      assertFalse(reply.truncated(), "the stream is ended, not cut");
      assertEquals(1, usageRecords(id));
    }));
    cases.add(backend("garbage-sse", true, 200, (reply, id) -> {
      assertFalse(reply.truncated());
      assertEquals(1, usageRecords(id));
    }));
    cases.add(backend("never-answers", false, 504, (reply, id) -> assertEquals(1, usageRecords(id))));
    cases.add(backend("huge-body", false, 200, (reply, id) -> {
      assertFalse(reply.truncated());
      assertTrue(reply.body().length > 4 << 20);
      assertEquals(1, usageRecords(id));
    }));
    cases.add(backend("stalls-mid-json", false, 200, (reply, id) -> {
      assertTrue(reply.truncated(), "a body cut short is never shown as complete");
      assertEquals(1, usageRecords(id));
    }));
    cases.add(backend("json-with-lying-length", true, 200, (reply, id) -> {
      assertTrue(reply.truncated(), "the body cut short is never shown as complete");
      assertFalse(reply.text().contains("data:"), "no SSE frame appended to a JSON body: " + reply.text());
      assertEquals(1, usageRecords(id));
    }));

    for (String mode : new String[] {"negative-usage", "string-usage"}) {
      cases.add(backend(mode, false, 200, (reply, id) -> {
        assertEquals(1, usageRecords(id));
        JsonObject record = webhook.record(id);
        assertTrue(record.getBoolean("estimated"), "usage the backend got wrong is estimated: " + record);
        assertTrue(record.getLong("prompt_tokens") > 0, record.encode());
        assertTrue(record.getLong("completion_tokens") > 0, record.encode());
        String metrics = gateway.get("/metrics").body();
        assertTrue(metrics.lines().anyMatch(line -> line.startsWith("llmproxy_usage_reports_rejected_total")
            && !line.endsWith(" 0.0")), "the rejected report is counted");
      }));
    }
    for (String mode : new String[] {"cr-only-sse", "sse-with-event-lines"}) {
      cases.add(backend(mode, true, 200, (reply, id) -> {
        assertFalse(reply.text().contains("\"usage\""), "the usage frame the gateway asked for is removed: "
            + reply.text());
        assertTrue(reply.text().contains("hello there"), reply.text());
        assertEquals(1, usageRecords(id));
        JsonObject record = webhook.record(id);
        assertFalse(record.getBoolean("estimated"), record.encode());
        assertEquals(7, record.getLong("prompt_tokens"), record.encode());
        assertEquals(3, record.getLong("completion_tokens"), record.encode());
      }));
    }
  }

  private static Case backend(String mode, boolean stream, int expected, Check check) {
    String body = "{\"model\":\"" + mode + "\",\"max_tokens\":5,\"stream\":" + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    return new Case("backend " + mode, CHAT, post(CHAT, utf8(body)), expected, check);
  }

  /** The usage records the webhook received for this request, once at least one came. */
  static int usageRecords(String requestId) throws Exception {
    return webhook.records(requestId, true,
        () -> gateway.chat(KEY, GOOD).headers().firstValue("X-Request-ID").orElseThrow());
  }

  // -------------------------------------------------------------------------------------------------- whole-run checks

  @Test
  void noLogLineHoldsAKeyUnmasked() throws Exception {
    // Some requests with keys first, so that the test means something when it runs alone.
    gateway.chat(KEY, GOOD);
    gateway.chat("sk-unknown-0123456789", GOOD);
    gateway.chat("k".repeat(2000), GOOD);
    for (String line : logs.lines) {
      assertFalse(line.contains(KEY), "a log line holds the key: " + line);
      assertFalse(line.contains("sk-unknown-0123456789"), "a log line holds an unknown key: " + line);
      assertFalse(line.contains("k".repeat(100)), "a log line holds a long key: " + line);
      assertFalse(line.contains(ADMIN_TOKEN), "a log line holds the admin token: " + line);
    }
  }

  // --------------------------------------------------------------------------------------------------------- helpers

  private static Check status(int... allowed) {
    return (reply, id) -> {
      for (int status : allowed) {
        if (reply.status() == status) {
          return;
        }
      }
      fail("status " + reply.status() + " is none of " + java.util.Arrays.toString(allowed) + ": " + reply.text());
    };
  }

  /** Whatever the framing was read as, the admin request hidden in the body never got an answer of its own. */
  private static Check notSmuggled() {
    return (reply, id) -> {
      assertTrue(reply.status() == 200 || reply.status() == 400 || reply.status() == 501, "status " + reply.status());
      assertFalse(reply.text().contains("\"keys\""), reply.text());
    };
  }

  private static byte[] post(String path, byte[] body) {
    return raw("POST", path, "HTTP/1.1", headers("Content-Type", "application/json", "Content-Length",
        Integer.toString(body.length)), body);
  }

  /** A request with the valid key and {@code Connection: close}, unless the headers say otherwise. */
  private static byte[] raw(String method, String target, String version, Map<String, String> headers, byte[] body) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("Host", "127.0.0.1");
    all.put("Authorization", "Bearer " + KEY);
    all.put("Connection", "close");
    all.putAll(headers); // a null value: the header is not sent (a request without a key)
    return RawHttp.request(method, target, version, all, body);
  }

  private static Map<String, String> headers(String... pairs) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      // A repeated name keeps both values (a second header line), by a suffix the request writer strips.
      String name = map.containsKey(pairs[i]) ? pairs[i] + "\u0000" + i : pairs[i];
      map.put(name, pairs[i + 1]);
    }
    return map;
  }

  private static byte[] chunked(byte[] body) {
    return RawHttp.concat(utf8(Integer.toHexString(body.length) + "\r\n"), body, utf8("\r\n0\r\n\r\n"));
  }

  private static byte[] withRequestId(byte[] request, String requestId) {
    String text = new String(request, StandardCharsets.ISO_8859_1);
    int end = text.indexOf("\r\n");
    if (end < 0) {
      return request;
    }
    return RawHttp.concat(request.length == 0 ? request : java.util.Arrays.copyOfRange(request, 0, end + 2),
        ("X-Request-ID: " + requestId + "\r\n").getBytes(StandardCharsets.ISO_8859_1),
        java.util.Arrays.copyOfRange(request, end + 2, request.length));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Every log line of the gateway (message and stack trace) while the corpus runs. */
  static final class LogCapture extends AppenderBase<ILoggingEvent> {
    final List<String> lines = new CopyOnWriteArrayList<>();

    void attach() {
      setContext((ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory());
      start();
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(this);
    }

    void detach() {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(this);
    }

    @Override
    protected void append(ILoggingEvent event) {
      String text = event.getFormattedMessage();
      if (event.getThrowableProxy() != null) {
        text += "\n" + ThrowableProxyUtil.asString(event.getThrowableProxy());
      }
      lines.add(text);
    }
  }
}
