package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The billing loop through every verticle: a builtin key's requests are journaled, stored in the admin's
 * {@code usage_records}, charged to its {@code used_quota}, and once the quota is used up auth refuses the key.
 */
class GatewayQuotaTest {

  static final String TOKEN = "admin-token-for-quota";
  /** MockLlmBackend reports 7 prompt tokens and max_tokens completion tokens. */
  private static final int TOKENS_PER_REQUEST = MockLlmBackend.PROMPT_TOKENS + 5;
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @Test
  void usageIsStoredChargedAndTheUsedUpKeyIsRefused(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, builtinKeysWithUsage(dir))) {
      // Room for two requests and a bit: the third starts under the limit, the fourth finds it used up.
      long quota = 2L * TOKENS_PER_REQUEST + 1;
      HttpResponse<String> created = admin(gateway, "/admin/keys/create",
          new JsonObject().put("name", "billing").put("user_id", "u-bill").put("total_quota", quota));
      assertEquals(200, created.statusCode(), created.body());
      String key = new JsonObject(created.body()).getJsonObject("data").getString("key");

      for (int i = 1; i <= 3; i++) {
        assertEquals(200, gateway.chat(key, CHAT).statusCode(), "request " + i + " is within the quota");
        long expected = (long) i * TOKENS_PER_REQUEST;
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> usedQuota(gateway, key) == expected),
            "used_quota reaches " + expected + ", is " + usedQuota(gateway, key));
      }

      HttpResponse<String> refused = gateway.chat(key, CHAT);
      assertEquals("quota_exceeded", new JsonObject(refused.body()).getJsonObject("error").getString("code"),
          refused.body());
      assertTrue(refused.statusCode() == 429 || refused.statusCode() == 403, refused.body());

      JsonObject totals = new JsonObject();
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
        totals.mergeIn(usageTotals(gateway, key));
        return totals.getLong("total_tokens", 0L) == 3L * TOKENS_PER_REQUEST;
      }), "usage_records holds the three answered requests' tokens: " + totals);
      assertEquals(3L * MockLlmBackend.PROMPT_TOKENS, totals.getLong("prompt_tokens"), totals.encode());
    }
  }

  /** Builtin keys made through the admin API, usage stored and charged by the builtin reporter. */
  static String builtinKeysWithUsage(Path dir) {
    return RunningGateway.ON_THE_MOCK + RunningGateway.adminYaml(TOKEN, dir) + RunningGateway.BUILTIN_KEYS + """
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: store
              type: builtin
              enabled: true
        """.formatted(dir.resolve("journal"));
  }

  static long usedQuota(RunningGateway gateway, String key) {
    try {
      HttpResponse<String> got = admin(gateway, "/admin/keys/get", new JsonObject().put("key", key));
      return new JsonObject(got.body()).getJsonObject("data").getLong("used_quota", -1L);
    } catch (Exception e) {
      return -1;
    }
  }

  static JsonObject usageTotals(RunningGateway gateway, String key) {
    try {
      HttpResponse<String> answer = admin(gateway, "/admin/usage/query", new JsonObject().put("key", key));
      return new JsonObject(answer.body()).getJsonObject("data").getJsonObject("totals");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  static HttpResponse<String> admin(RunningGateway gateway, String path, JsonObject body) throws Exception {
    return gateway.post(path, body.encode(), "X-Admin-Token", TOKEN);
  }
}
