package dev.llmproxy.launcher;

import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.testsupport.Poll;
import io.vertx.sqlclient.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static dev.llmproxy.launcher.RunningGateway.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** logging.request as users configure it: the launcher deploys the request log, and a request becomes a row. */
class GatewayRequestLogTest {

  @Test
  void anAuthenticatedRequestBecomesARowWithTheKeyMasked(@TempDir Path dir) throws Exception {
    String yaml = RunningGateway.ON_THE_MOCK + RunningGateway.TEAM_A_AUTH + """
        storage:
          databases:
            - name: logs
              driver: sqlite
              path: "%s"
        logging:
          enabled: true
          request:
            enabled: true
            storage: logs
            include_body: true
        """.formatted(dir.resolve("logs.db"));
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      Pools pools = new Pools(gateway.vertx, gateway.config.storage());
      try {
        HttpResponse<String> answer = gateway.chat(RunningGateway.TEAM_A_KEY,
            "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}");
        assertEquals(200, answer.statusCode());

        SqlDatabase logs = pools.database("logs");
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> rows(logs) == 1));
        Row row = await(logs.pool().query("SELECT * FROM request_logs").execute()).iterator().next();
        assertEquals(answer.headers().firstValue("X-Request-ID").orElseThrow(), row.getString("request_id"));
        assertEquals("sk-...6789", row.getString("api_key"));
        assertEquals("alice", row.getString("user_id"));
        assertEquals("mock", row.getString("model"));
        assertEquals(answer.body(), row.getString("response_body"));
        assertEquals(200, row.getInteger("status_code"));
        assertNull(row.getValue("error"), "a request answered whole is no error");
        assertFalse(row.getString("headers").contains("0123456789"), row.getString("headers"));
      } finally {
        await(pools.close());
      }
    }
  }

  private static long rows(SqlDatabase database) {
    try {
      return await(database.pool().query("SELECT COUNT(*) AS n FROM request_logs").execute()).iterator().next()
          .getLong("n");
    } catch (Exception noTableYet) {
      return -1;
    }
  }
}
