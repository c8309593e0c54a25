package dev.llmproxy.launcher;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.TimeBasedFileNamingAndTriggeringPolicy;
import ch.qos.logback.core.rolling.TimeBasedRollingPolicy;
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
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.LocalDate;
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

  @Test
  void anAccessFileRotatedDailyRollsWhenTheDayTurns(@TempDir Path dir) throws Exception {
    Path access = dir.resolve("access.log");
    apply(accessFile(new JsonObject().put("path", access.toString()).put("rotate", "daily").put("max_age", 7)));
    Logger log = context.getLogger(LogSetup.ACCESS_LOGGER);
    log.info("yesterday's line");
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> read(access).equals("yesterday's line\n")), list(dir));
    String today = LocalDate.now().toString();
    // Logback's own test hook: the file's clock moves on a day, as midnight would.
    fileClock(LogSetup.ACCESS_LOGGER, "ACCESS", "ACCESS-FILE")
        .setCurrentTime(System.currentTimeMillis() + Duration.ofDays(1).toMillis());
    log.info("today's line");
    Path rolled = dir.resolve("access.log." + today + ".0");
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> read(rolled).equals("yesterday's line\n")
        && read(access).equals("today's line\n")), list(dir));
  }

  @Test
  void rolledFilesOlderThanMaxAgeAreDeletedAndOthersKept(@TempDir Path dir) throws Exception {
    Path access = dir.resolve("access.log");
    Path requests = dir.resolve("requests.log");
    FileTime tenDaysAgo = FileTime.from(Instant.now().minus(Duration.ofDays(10)));
    FileTime yesterday = FileTime.from(Instant.now().minus(Duration.ofDays(1)));
    Path oldDaily = touch(dir.resolve("access.log.2026-01-01.0"), tenDaysAgo);
    Path recentDaily = touch(dir.resolve("access.log.2026-01-09.0"), yesterday);
    Path oldBySize = touch(dir.resolve("requests.log.2"), tenDaysAgo);
    Path recentBySize = touch(dir.resolve("requests.log.1"), yesterday);
    Path notRolled = touch(dir.resolve("access.log.keep"), tenDaysAgo);
    JsonObject config = accessFile(new JsonObject().put("path", access.toString()).put("rotate", "daily").put("max_age", 7));
    config.getJsonObject("logging").put("request", new JsonObject().put("enabled", true)
        .put("file", new JsonObject().put("path", requests.toString()).put("max_age", 7)));
    apply(config);
    assertFalse(Files.exists(oldDaily), list(dir));
    assertFalse(Files.exists(oldBySize), list(dir));
    assertTrue(Files.exists(recentDaily) && Files.exists(recentBySize) && Files.exists(notRolled), list(dir));
  }

  @Test
  void dailyRollingKeepsTheNewestMaxBackups(@TempDir Path dir) throws Exception {
    Path access = dir.resolve("access.log");
    for (int day = 1; day <= 5; day++) {
      touch(dir.resolve("access.log.2026-01-0" + day + ".0"), FileTime.from(Instant.now().minus(Duration.ofHours(10 - day))));
    }
    apply(accessFile(new JsonObject().put("path", access.toString()).put("rotate", "hourly").put("max_backups", 2)));
    assertEquals(List.of("access.log.2026-01-04.0", "access.log.2026-01-05.0"),
        files(dir).map(p -> p.getFileName().toString()).filter(n -> n.startsWith("access.log.")).sorted().toList());
  }

  @Test
  void theGatewayLogDropsDaysOlderThanMaxAge(@TempDir Path dir) throws Exception {
    Path old = touch(dir.resolve("gw.log." + LocalDate.now().minusDays(10)), FileTime.from(Instant.now()));
    Path recent = touch(dir.resolve("gw.log." + LocalDate.now().minusDays(2)), FileTime.from(Instant.now()));
    apply(new JsonObject().put("log", new JsonObject().put("format", "text").put("output", "file")
        .put("file", new JsonObject().put("path", dir.resolve("gw.log").toString()).put("rotate", "daily")
            .put("max_age", 7).put("compress", false))));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> !Files.exists(old)), list(dir));
    assertTrue(Files.exists(recent), list(dir));
  }

  private static JsonObject accessFile(JsonObject file) {
    return new JsonObject().put("logging", new JsonObject().put("enabled", true)
        .put("access", new JsonObject().put("enabled", true).put("output", "file").put("file", file)));
  }

  /** The clock of a time-rolled file behind the async appender {@code async} of {@code logger}. */
  private TimeBasedFileNamingAndTriggeringPolicy<ILoggingEvent> fileClock(String logger, String async, String file) {
    AsyncAppender queue = (AsyncAppender) context.getLogger(logger).getAppender(async);
    RollingFileAppender<ILoggingEvent> target = (RollingFileAppender<ILoggingEvent>) queue.getAppender(file);
    return ((TimeBasedRollingPolicy<ILoggingEvent>) target.getRollingPolicy()).getTimeBasedFileNamingAndTriggeringPolicy();
  }

  private static Path touch(Path file, FileTime modified) throws IOException {
    Files.writeString(file, "old line\n");
    Files.setLastModifiedTime(file, modified);
    return file;
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
