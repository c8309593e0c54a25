package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.llmproxy.usage.UsageVerticle;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A gateway alone makes a usage record per request only when something reads records (a reporter, a key store it
 * charges): otherwise each record handed to the usage verticle cost the proxy's loop a wake-up of the usage
 * verticle's, for a count nobody read. The tokens are counted in the metrics either way.
 */
class GatewayUsageRecordsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @Test
  void withNothingToReadThemNoRecordIsMadeAndTheTokensAreStillCounted(@TempDir Path dir) throws Exception {
    assertEquals("usage verticle stopping after 0 record(s)", recordsAfter(dir, yaml(dir, ""), 3));
  }

  @Test
  void withAReporterEveryRequestHasItsRecord(@TempDir Path dir) throws Exception {
    String builtin = """
          reporters:
            - name: store
              type: builtin
        """ + RunningGateway.adminYaml("admin-token-for-usage-records", dir);
    assertEquals("usage verticle stopping after 3 record(s)", recordsAfter(dir, yaml(dir, builtin), 3));
  }

  /** A gateway with usage on, and {@code more} after its usage section's journal path. */
  private static String yaml(Path dir, String more) {
    return """
        server:
          listen: "{listen}"
        backends:
          - url: "{backend}"
        usage:
          enabled: true
          journal_path: "%s"
        """.formatted(dir.resolve("journal")) + more;
  }

  /** Sends {@code requests} chats, checks their tokens are in the metrics, stops the gateway: its usage verticle's count. */
  private static String recordsAfter(Path dir, String yaml, int requests) throws Exception {
    Logger usageLog = (Logger) LoggerFactory.getLogger(UsageVerticle.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    usageLog.addAppender(appender);
    try {
      try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
        for (int i = 0; i < requests; i++) {
          HttpResponse<String> answer = gateway.chat(null, CHAT);
          assertEquals(200, answer.statusCode(), answer.body());
        }
        String metrics = gateway.get("/metrics").body();
        assertTrue(metrics.lines().anyMatch(line -> line.startsWith("llmproxy_usage_tokens_total{")
            && line.contains("type=\"completion\"") && !line.endsWith(" 0.0")), metrics);
      }
      List<ILoggingEvent> events;
      synchronized (appender) {
        events = new ArrayList<>(appender.list);
      }
      return events.stream().map(ILoggingEvent::getFormattedMessage)
          .filter(message -> message.startsWith("usage verticle stopping")).findFirst().orElse("no stop line");
    } finally {
      usageLog.detachAppender(appender);
    }
  }
}
