package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.FilesOnDisk;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A static key's {@code total_quota} runs out like a builtin key's: each answered request is charged (once), the
 * second may overdraw, the third is refused with {@code quota_exceeded}. With admin on the usage lives in the
 * builtin store by the key's hash and survives a restart; a new period starts again. With admin off it is kept in
 * memory and a restart forgets it. No file the gateway writes holds the raw key.
 */
class GatewayStaticQuotaTest {

  private static final String KEY = "sk-static-quota-0123456789";
  /** MockLlmBackend reports 7 prompt tokens and max_tokens completion tokens: 57 a request. */
  private static final int TOKENS_PER_REQUEST = 57;
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":"
      + (TOKENS_PER_REQUEST - MockLlmBackend.PROMPT_TOKENS) + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static String config(Path data, boolean admin) {
    return """
        server:
          listen: "{listen}"
        backends:
          - url: "{backend}"
        admin:
          enabled: %s
          token: "admin-token-static-quota"
          db_path: "%s"
        storage:
          databases:
            - name: logs
              driver: sqlite
              path: "%s"
        auth:
          enabled: true
          pipeline:
            - name: fixed
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "metered"
                    total_quota: 100
                    quota_reset_period: daily
        usage:
          enabled: true
          journal_path: "%s"
        logging:
          enabled: true
          request:
            enabled: true
            storage: logs
            include_body: true
            file:
              path: "%s"
          access:
            enabled: true
            output: file
            file:
              path: "%s"
        """.formatted(admin, data.resolve("keys.db"), data.resolve("logs.db"), KEY, data.resolve("journal"),
        data.resolve("requests.log"), data.resolve("access.log"));
  }

  @Test
  void withAdminTheUsageIsStoredByHashSurvivesARestartAndANewPeriodStartsAgain(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    String yaml = config(data, true);
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      spendTheQuota(gateway, data, 1);
    }
    try (RunningGateway restarted = RunningGateway.start(dir, yaml)) {
      assertRefused(restarted.chat(KEY, CHAT));
      assertEquals(2L * TOKENS_PER_REQUEST, usedQuota(data));
    }
    // The day is over: the count of a daily key began before today's start.
    sql(data, "UPDATE static_key_usage SET last_reset_at = '2000-01-01T00:00:00.000Z'");
    try (RunningGateway nextDay = RunningGateway.start(dir, yaml)) {
      long before = quotaCursor(data);
      assertEquals(200, nextDay.chat(KEY, CHAT).statusCode(), "a new period starts again");
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> quotaCursor(data) == before + 1));
      assertEquals(TOKENS_PER_REQUEST, usedQuota(data), "counted from zero in the new period");
    }
    assertEquals(List.of(), FilesOnDisk.containing(data, KEY), "journal, stores and logs hold no raw key");
  }

  @Test
  void withoutAdminTheUsageIsKeptInMemoryAndARestartForgetsIt(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    String yaml = config(data, false);
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      spendTheQuota(gateway, data, 1);
    }
    try (RunningGateway restarted = RunningGateway.start(dir, yaml)) {
      assertEquals(200, restarted.chat(KEY, CHAT).statusCode(), "memory only: a restart starts the key again");
    }
    assertEquals(List.of(), FilesOnDisk.containing(data, KEY), "journal and logs hold no raw key");
  }

  /** Two requests pass (the second overdraws, as a builtin key may), the third is refused. */
  private static void spendTheQuota(RunningGateway gateway, Path data, long firstSeq) throws Exception {
    for (int i = 1; i <= 2; i++) {
      assertEquals(200, gateway.chat(KEY, CHAT).statusCode(), "request " + i);
      long next = firstSeq + i;
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> quotaCursor(data) == next),
          "request " + i + " charged; quota cursor " + quotaCursor(data));
    }
    // The charge reaches the auth caches as keys.changed a moment after the cursor moved: wait for it with a call
    // that is authorized but not metered, so that waiting spends nothing.
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> modelsStatus(gateway) == 429), "the spent key is refused");
    assertRefused(gateway.chat(KEY, CHAT));
  }

  private static int modelsStatus(RunningGateway gateway) {
    try {
      return gateway.get("/v1/models", "Authorization", "Bearer " + KEY).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static void assertRefused(HttpResponse<String> refused) {
    assertEquals(429, refused.statusCode(), refused.body());
    assertEquals("quota_exceeded", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
  }

  private static long quotaCursor(Path data) {
    try {
      return Journal.peekCursor(data.resolve("journal"), "quota");
    } catch (Exception e) {
      return -1;
    }
  }

  private static long usedQuota(Path data) throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
         Statement statement = db.createStatement();
         ResultSet rows = statement.executeQuery("SELECT used_quota FROM static_key_usage")) {
      assertTrue(rows.next(), "the key's usage is stored");
      return rows.getLong(1);
    }
  }

  private static void sql(Path data, String update) throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
         Statement statement = db.createStatement()) {
      assertEquals(1, statement.executeUpdate(update));
    }
  }
}
