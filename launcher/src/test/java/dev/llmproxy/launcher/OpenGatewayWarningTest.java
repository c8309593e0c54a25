package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Listening on every interface with auth off is said once, loudly, at start; on loopback, or with auth, it is not. */
class OpenGatewayWarningTest {

  private static List<String> startLogs(Path dir, String listen, boolean auth) throws Exception {
    java.nio.file.Files.createDirectories(dir);
    Logger logger = (Logger) LoggerFactory.getLogger(Gateway.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try {
      String yaml = """
          server:
            listen: "%s"
          backends:
            - url: "{backend}"
          health_check:
            enabled: false
          auth:
            enabled: %s
            pipeline:
              - name: keys
                type: static
                static:
                  keys:
                    - key: "sk-test-open-gateway-0001"
          """.formatted(listen, auth);
      try (RunningGateway ignored = RunningGateway.start(dir, yaml)) {
        return appender.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
            .toList();
      }
    } finally {
      logger.detachAppender(appender);
    }
  }

  @Test
  void allInterfacesWithAuthOffIsWarnedOnce(@TempDir Path dir) throws Exception {
    int port = RunningGateway.freePort();
    List<String> warnings = startLogs(dir, ":" + port, false);
    List<String> open = warnings.stream().filter(w -> w.contains("OPEN GATEWAY")).toList();
    assertEquals(1, open.size(), "warnings: " + warnings);
    assertTrue(open.get(0).contains("anyone who can reach port " + port), open.get(0));
  }

  @Test
  void loopbackOrAuthIsNotWarned(@TempDir Path dir) throws Exception {
    assertTrue(startLogs(dir.resolve("a"), "{listen}", false).stream().noneMatch(w -> w.contains("OPEN GATEWAY")));
    assertTrue(startLogs(dir.resolve("b"), ":" + RunningGateway.freePort(), true).stream()
        .noneMatch(w -> w.contains("OPEN GATEWAY")));
  }
}
