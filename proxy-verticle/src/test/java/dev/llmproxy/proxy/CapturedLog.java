package dev.llmproxy.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** The messages one logger writes while attached; lines are waited for with a deadline. */
final class CapturedLog extends AppenderBase<ILoggingEvent> {

  private final Logger logger;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  private CapturedLog(String loggerName) {
    this.logger = (Logger) LoggerFactory.getLogger(loggerName);
  }

  static CapturedLog attach(String loggerName) {
    CapturedLog log = new CapturedLog(loggerName);
    log.start();
    log.logger.addAppender(log);
    return log;
  }

  void detach() {
    logger.detachAppender(this);
  }

  @Override
  protected void append(ILoggingEvent event) {
    lines.add(event.getFormattedMessage());
  }

  List<String> lines() {
    return lines;
  }

  /** The first line containing {@code text}, waiting up to 10 s for it. */
  String await(String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      for (String line : lines) {
        if (line.contains(text)) {
          return line;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no log line with " + text + " in time; lines: " + lines);
  }
}
