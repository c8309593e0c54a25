package dev.llmproxy.launcher;

import ch.qos.logback.classic.LoggerContext;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each log format and target as the launcher sets them up, read back from where the lines went. */
class LogSetupTest {

  private final LoggerContext context = new LoggerContext();

  {
    // What SLF4J's provider gives the process-wide context; a bare one needs it to build events.
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
  }

  @AfterEach
  void stop() {
    context.stop();
  }

  @Test
  void jsonToAFileIsOneJsonObjectPerLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("gw.log");
    apply(new JsonObject().put("log", new JsonObject().put("format", "json").put("output", "file")
        .put("file", new JsonObject().put("path", file.toString()).put("rotate", "daily"))));

    context.getLogger("dev.llmproxy.Some").info("started with {} backends", 3);
    context.getLogger("dev.llmproxy.Some").debug("not at info level");

    assertTrue(Poll.until(Duration.ofSeconds(5), () -> read(file).contains("started")), read(file));
    List<String> lines = read(file).lines().toList();
    assertEquals(1, lines.size(), read(file));
    JsonObject line = new JsonObject(lines.get(0));
    assertEquals("started with 3 backends", line.getString("message"));
    assertEquals("INFO", line.getString("level"));
    assertEquals("dev.llmproxy.Some", line.getString("logger_name"));
    assertTrue(line.containsKey("@timestamp"), line.encode());
  }

  @Test
  void textToStdoutIsTheReadablePattern() throws Exception {
    String out = captured(false, () -> {
      apply(new JsonObject().put("log", new JsonObject().put("format", "text").put("output", "stdout").put("level", "debug")));
      context.getLogger("dev.llmproxy.Text").debug("hello {}", "there");
    }, "hello there");
    assertTrue(out.matches("(?s)\\d{4}-\\d\\d-\\d\\dT[^ ]+ DEBUG \\[[^]]+\\] dev.llmproxy.Text - hello there\\R"), out);
  }

  @Test
  void jsonToStderr() throws Exception {
    String err = captured(true, () -> {
      apply(new JsonObject().put("log", new JsonObject().put("format", "json").put("output", "stderr")));
      context.getLogger("dev.llmproxy.Err").warn("careful");
    }, "careful");
    JsonObject line = new JsonObject(err.strip());
    assertEquals("careful", line.getString("message"));
    assertEquals("WARN", line.getString("level"));
  }

  @Test
  void rotationBySizeRollsAndCompressesTheOldFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("gw.log");
    apply(new JsonObject().put("log", new JsonObject().put("format", "text").put("output", "file")
        .put("file", new JsonObject().put("path", file.toString()).put("rotate", "size").put("max_size", 1)
            .put("compress", true))));
    Logger log = context.getLogger("dev.llmproxy.Big");
    String filler = "x".repeat(1000);
    // Past 1 MB the policy rolls; it looks at the size every few milliseconds, so keep writing until it has.
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> {
      for (int i = 0; i < 200; i++) {
        log.info(filler);
      }
      return gzipped(dir).findAny().isPresent();
    }), "no rolled file in " + list(dir));
    Path rolled = gzipped(dir).findFirst().orElseThrow();
    assertTrue(rolled.getFileName().toString().matches("gw\\.log\\.\\d{4}-\\d\\d-\\d\\d\\.0\\.gz"), rolled.toString());
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> ungzip(rolled).length() > 1024 * 1024), list(dir));
    assertTrue(ungzip(rolled).lines().allMatch(l -> l.endsWith(filler)));
    // A rollover renames the active file before it opens a new one: it may be missing for a moment.
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> Files.exists(file) && sizeOf(file) < 1024 * 1024),
        "the active file starts again: " + list(dir));
  }

  @Test
  void accessAndRequestLinesGoToTheirOwnFilesOnly(@TempDir Path dir) throws Exception {
    Path main = dir.resolve("gw.log");
    Path access = dir.resolve("access.log");
    Path requests = dir.resolve("requests.log");
    apply(new JsonObject()
        .put("log", new JsonObject().put("format", "text").put("output", "file").put("file", new JsonObject().put("path", main.toString())))
        .put("logging", new JsonObject().put("enabled", true)
            .put("access", new JsonObject().put("enabled", true).put("output", "file")
                .put("file", new JsonObject().put("path", access.toString())))
            .put("request", new JsonObject().put("enabled", true)
                .put("file", new JsonObject().put("path", requests.toString())))));

    context.getLogger(LogSetup.ACCESS_LOGGER).info("127.0.0.1 - - [x] \"GET /health HTTP/1.1\" 200 2");
    context.getLogger(LogSetup.REQUEST_LOGGER).info("{\"request_id\":\"r1\"}");
    context.getLogger("dev.llmproxy.Main").info("gateway line");

    assertTrue(Poll.until(Duration.ofSeconds(5), () -> !read(access).isEmpty() && !read(requests).isEmpty()
        && !read(main).isEmpty()));
    assertEquals("127.0.0.1 - - [x] \"GET /health HTTP/1.1\" 200 2\n", read(access));
    assertEquals("{\"request_id\":\"r1\"}\n", read(requests));
    assertFalse(read(main).contains("health"), read(main));
    assertFalse(read(main).contains("request_id"), read(main));
  }

  /** Seed 001's {@code logging.request.storage: stdout}: one JSON line per row on stdout, nothing else around it. */
  @Test
  void requestLinesGoToStdoutWhenSeed001SaysStdout() throws Exception {
    String out = captured(false, () -> {
      apply(new JsonObject()
          .put("log", new JsonObject().put("output", "stderr"))
          .put("logging", new JsonObject().put("enabled", true)
              .put("request", new JsonObject().put("enabled", true).put("storage", "stdout"))));
      context.getLogger(LogSetup.REQUEST_LOGGER).info("{\"request_id\":\"r2\"}");
    }, "r2");
    assertEquals("{\"request_id\":\"r2\"}\n", out);
  }

  @Test
  void accessLogIsOffUnlessLoggingIsEnabled() throws Exception {
    apply(new JsonObject().put("logging", new JsonObject().put("enabled", false)
        .put("access", new JsonObject().put("enabled", true).put("output", "stdout"))));
    assertFalse(context.getLogger(LogSetup.ACCESS_LOGGER).isInfoEnabled());
    assertFalse(context.getLogger(LogSetup.REQUEST_LOGGER).isInfoEnabled());
  }

  private void apply(JsonObject raw) {
    LoadedConfig loaded = ConfigLoader.parse(raw.put("backends", new io.vertx.core.json.JsonArray()
        .add(new JsonObject().put("name", "b").put("url", "http://127.0.0.1:1"))), Map.of());
    assertTrue(loaded.ok(), String.join("\n", loaded.errors()));
    GatewayConfig config = loaded.config();
    LogSetup.apply(context, config.log(), config.logging());
  }

  /** What {@code action} printed on stdout (or stderr) once {@code expected} appeared. */
  private static String captured(boolean stderr, Runnable action, String expected) {
    PrintStream original = stderr ? System.err : System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    if (stderr) {
      System.setErr(capture);
    } else {
      System.setOut(capture);
    }
    try {
      action.run();
      assertTrue(Poll.until(Duration.ofSeconds(5), () -> bytes.toString(StandardCharsets.UTF_8).contains(expected)));
      return bytes.toString(StandardCharsets.UTF_8);
    } finally {
      if (stderr) {
        System.setErr(original);
      } else {
        System.setOut(original);
      }
    }
  }

  private static Stream<Path> gzipped(Path dir) {
    return files(dir).filter(p -> p.getFileName().toString().endsWith(".gz"));
  }

  private static Stream<Path> files(Path dir) {
    try (Stream<Path> listing = Files.list(dir)) {
      return listing.toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String list(Path dir) {
    return files(dir).map(p -> p.getFileName().toString()).toList().toString();
  }

  private static String ungzip(Path file) {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (java.io.IOException e) {
      return Long.MAX_VALUE;
    }
  }
}
