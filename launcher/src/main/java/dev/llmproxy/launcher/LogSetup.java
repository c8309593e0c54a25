package dev.llmproxy.launcher;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.rolling.TimeBasedRollingPolicy;
import ch.qos.logback.core.util.FileSize;
import dev.llmproxy.common.config.AccessLogConfig;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LogConfig;
import dev.llmproxy.common.config.LogFileConfig;
import dev.llmproxy.common.config.LogTargetFileConfig;
import dev.llmproxy.common.config.LoggingConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * Builds the Logback configuration of a running gateway from its config, replacing the static {@code logback.xml}
 * (which only the CLI's {@code validate}/{@code --version} keep using):
 * <ul>
 *   <li>{@code log}: the root logger's level, {@code json} (logstash encoder) or {@code text}, to stdout, stderr or
 *       a file rolled daily, hourly or by size ({@code max_size} MB) and kept {@code max_age} days, gzipped when
 *       {@code compress}.</li>
 *   <li>{@code logging.access}: the non-additive {@value #ACCESS_LOGGER} logger, one line as the proxy built it,
 *       to stdout or a file rolled by size, daily or hourly ({@code rotate}), keeping {@code max_backups} rolled
 *       files and none older than {@code max_age} days.</li>
 *   <li>{@code logging.request.file}: the non-additive {@value #REQUEST_LOGGER} logger, one JSON line per row,
 *       rolled the same way; and/or to stdout with {@code logging.request.stdout}.</li>
 * </ul>
 * Every target sits behind an {@link AsyncAppender} that never blocks the caller: an event loop that logs hands the
 * line to a queue, and only Logback's worker thread writes. When the queue is full (the disk cannot keep up) lines
 * are dropped rather than a request delayed.
 */
public final class LogSetup {

  /** The access log; the proxy's {@code AccessLog} writes here. */
  public static final String ACCESS_LOGGER = "llmproxy.access";
  /** The file copy of the request log; the usage module's request log writes here. */
  public static final String REQUEST_LOGGER = "llmproxy.requestlog";

  static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - %msg%n";
  private static final int QUEUE_SIZE = 8192;
  /** Logback's FixedWindowRollingPolicy keeps at most this many numbered backups. */
  private static final int MAX_BACKUPS = 20;
  private static final long MB = 1024 * 1024;

  private LogSetup() {
  }

  /** Reconfigures the process-wide Logback context; called by {@code Main} before any verticle is deployed. */
  public static void apply(GatewayConfig config) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      apply(context, config.log(), config.logging());
    }
  }

  /** Replaces everything {@code context} had (the static file's appenders included) with what the config asks. */
  static void apply(LoggerContext context, LogConfig log, LoggingConfig logging) {
    context.reset();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(log.level(), Level.INFO));
    root.addAppender(async(context, "LOG", gatewayTarget(context, log)));
    context.getLogger("io.netty").setLevel(Level.WARN);
    context.getLogger("io.vertx").setLevel(Level.WARN);
    // Vert.x registers some gauges twice when several verticle instances share them: harmless, not worth a warning.
    context.getLogger("io.micrometer.core.instrument.MeterRegistry").setLevel(Level.ERROR);

    AccessLogConfig access = logging.access();
    Logger accessLogger = lineLogger(context, ACCESS_LOGGER);
    if (logging.enabled() && access.enabled()) {
      Appender<ILoggingEvent> target = "file".equals(access.output()) && !access.file().path().isEmpty()
          ? rollingLines(context, "ACCESS-FILE", access.file())
          : console(context, "ACCESS-STDOUT", lineEncoder(context), false);
      accessLogger.addAppender(async(context, "ACCESS", target));
      accessLogger.setLevel(Level.INFO);
    }
    LogTargetFileConfig requestFile = logging.request().file();
    Logger requestLogger = lineLogger(context, REQUEST_LOGGER);
    if (logging.enabled() && logging.request().enabled() && logging.request().writesLines()) {
      if (!requestFile.path().isEmpty()) {
        requestLogger.addAppender(async(context, "REQUEST", rollingLines(context, "REQUEST-FILE", requestFile)));
      }
      if (logging.request().stdout()) {
        requestLogger.addAppender(async(context, "REQUEST-OUT",
            console(context, "REQUEST-STDOUT", lineEncoder(context), false)));
      }
      requestLogger.setLevel(Level.INFO);
    }
  }

  /** A logger for lines the caller has formatted completely; off until a target is attached. */
  private static Logger lineLogger(LoggerContext context, String name) {
    Logger logger = context.getLogger(name);
    logger.setAdditive(false);
    logger.setLevel(Level.OFF);
    return logger;
  }

  private static Appender<ILoggingEvent> gatewayTarget(LoggerContext context, LogConfig log) {
    Encoder<ILoggingEvent> encoder = "text".equals(log.format()) ? patternEncoder(context, TEXT_PATTERN) : json(context);
    return switch (log.output()) {
      case "stderr" -> console(context, "LOG-STDERR", encoder, true);
      case "file" -> rollingGatewayFile(context, log.file(), encoder);
      default -> console(context, "LOG-STDOUT", encoder, false);
    };
  }

  private static Encoder<ILoggingEvent> json(LoggerContext context) {
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(context);
    encoder.start();
    return encoder;
  }

  private static Encoder<ILoggingEvent> lineEncoder(LoggerContext context) {
    return patternEncoder(context, "%msg%n");
  }

  private static Encoder<ILoggingEvent> patternEncoder(LoggerContext context, String pattern) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(pattern);
    encoder.start();
    return encoder;
  }

  private static Appender<ILoggingEvent> console(LoggerContext context, String name, Encoder<ILoggingEvent> encoder,
      boolean stderr) {
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(context);
    appender.setName(name);
    appender.setTarget(stderr ? "System.err" : "System.out");
    appender.setEncoder(encoder);
    appender.start();
    return appender;
  }

  /** {@code log.file}: daily ({@code path.yyyy-MM-dd}), hourly ({@code path.yyyy-MM-dd_HH}) or size ({@code path.yyyy-MM-dd.N}). */
  private static Appender<ILoggingEvent> rollingGatewayFile(LoggerContext context, LogFileConfig file,
      Encoder<ILoggingEvent> encoder) {
    RollingFileAppender<ILoggingEvent> appender = fileAppender(context, "LOG-FILE", file.path(), encoder);
    String gz = file.compress() ? ".gz" : "";
    int maxAgeDays = Math.max(0, file.maxAge());
    TimeBasedRollingPolicy<ILoggingEvent> policy;
    switch (file.rotate()) {
      case "size" -> {
        SizeAndTimeBasedRollingPolicy<ILoggingEvent> bySize = new SizeAndTimeBasedRollingPolicy<>();
        bySize.setMaxFileSize(new FileSize(Math.max(1, file.maxSize()) * MB));
        bySize.setFileNamePattern(file.path() + ".%d{yyyy-MM-dd}.%i" + gz);
        bySize.setMaxHistory(maxAgeDays);
        policy = bySize;
      }
      case "hourly" -> {
        policy = new TimeBasedRollingPolicy<>();
        policy.setFileNamePattern(file.path() + ".%d{yyyy-MM-dd_HH}" + gz);
        policy.setMaxHistory(maxAgeDays * 24);
      }
      default -> {
        policy = new TimeBasedRollingPolicy<>();
        policy.setFileNamePattern(file.path() + ".%d{yyyy-MM-dd}" + gz);
        policy.setMaxHistory(maxAgeDays);
      }
    }
    policy.setContext(context);
    policy.setParent(appender);
    // Files past max_age from an earlier run go at start, not only at the next roll.
    policy.setCleanHistoryOnStart(true);
    policy.start();
    appender.setRollingPolicy(policy);
    appender.start();
    return appender;
  }

  /**
   * {@code logging.*.file}. {@code rotate} size (or unset): rolled when it reaches {@code max_size_mb}, keeping
   * {@code path.1} .. {@code path.N} ({@code max_backups}, at most {@value #MAX_BACKUPS}). daily / hourly: rolled when
   * the day / hour turns and within it at {@code max_size_mb} ({@code path.yyyy-MM-dd.N}, {@code path.yyyy-MM-dd_HH.N}),
   * keeping the newest {@code max_backups} (0: any number). Either way rolled files older than {@code max_age} days
   * are deleted (0: kept whatever their age), at start and after each roll.
   */
  private static Appender<ILoggingEvent> rollingLines(LoggerContext context, String name, LogTargetFileConfig file) {
    boolean bySize = !isTimed(file.rotate());
    int maxBackups = bySize ? Math.max(1, Math.min(MAX_BACKUPS, file.maxBackups())) : Math.max(0, file.maxBackups());
    // By size, Logback's fixed window already keeps max_backups (by name, which a shared mtime cannot confuse).
    RolledFiles rolled = new RolledFiles(Path.of(file.path()), bySize ? 0 : maxBackups,
        Duration.ofDays(Math.max(0, file.maxAge())));
    PruningFileAppender appender = new PruningFileAppender(rolled);
    configure(appender, context, name, file.path(), lineEncoder(context));
    FileSize maxSize = new FileSize(Math.max(1, file.maxSizeMb()) * MB);
    if (bySize) {
      FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
      rolling.setContext(context);
      rolling.setParent(appender);
      rolling.setFileNamePattern(file.path() + ".%i");
      rolling.setMinIndex(1);
      rolling.setMaxIndex(maxBackups);
      rolling.start();
      SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
      trigger.setContext(context);
      trigger.setMaxFileSize(maxSize);
      trigger.start();
      appender.setRollingPolicy(rolling);
      appender.setTriggeringPolicy(trigger);
    } else {
      SizeAndTimeBasedRollingPolicy<ILoggingEvent> rolling = new SizeAndTimeBasedRollingPolicy<>();
      rolling.setContext(context);
      rolling.setParent(appender);
      rolling.setFileNamePattern(file.path() + (file.rotate().equals("hourly") ? ".%d{yyyy-MM-dd_HH}" : ".%d{yyyy-MM-dd}")
          + ".%i");
      rolling.setMaxFileSize(maxSize);
      rolling.setMaxHistory(0); // RolledFiles keeps count and age
      rolling.start();
      appender.setRollingPolicy(rolling);
    }
    appender.start();
    rolled.prune(Instant.now());
    return appender;
  }

  /** The {@code rotate} values of {@code logging.*.file} that roll by the clock (besides by size). */
  static boolean isTimed(String rotate) {
    return rotate.equals("daily") || rotate.equals("hourly");
  }

  /** Prunes the rolled files after every roll. */
  private static final class PruningFileAppender extends RollingFileAppender<ILoggingEvent> {

    private final RolledFiles rolled;

    PruningFileAppender(RolledFiles rolled) {
      this.rolled = rolled;
    }

    @Override
    public void rollover() {
      super.rollover();
      rolled.prune(Instant.now());
    }
  }

  private static RollingFileAppender<ILoggingEvent> fileAppender(LoggerContext context, String name, String path,
      Encoder<ILoggingEvent> encoder) {
    return configure(new RollingFileAppender<>(), context, name, path, encoder);
  }

  private static RollingFileAppender<ILoggingEvent> configure(RollingFileAppender<ILoggingEvent> appender,
      LoggerContext context, String name, String path, Encoder<ILoggingEvent> encoder) {
    appender.setContext(context);
    appender.setName(name);
    appender.setFile(path);
    appender.setAppend(true);
    appender.setEncoder(encoder);
    return appender;
  }

  /** Never blocks the logging thread and never discards by level: lines are only dropped when the queue is full. */
  private static Appender<ILoggingEvent> async(LoggerContext context, String name, Appender<ILoggingEvent> target) {
    AsyncAppender async = new AsyncAppender();
    async.setContext(context);
    async.setName(name);
    async.setQueueSize(QUEUE_SIZE);
    async.setDiscardingThreshold(0);
    async.setNeverBlock(true);
    async.addAppender(target);
    async.start();
    return async;
  }
}
