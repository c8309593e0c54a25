package dev.llmproxy.launcher;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole gateway with {@code auth.skip_paths: ["/health"]}: every other path needs a key (the missing key answered
 * with {@code status_codes.not_found}), and {@code metrics.custom_labels} name the caller without showing the key.
 */
class GatewayOpenPathsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[]}";
  private static final String NAMED = "sk-named-0123456789";
  private static final String PLAIN = "sk-plain-0123454321";
  private static final String TOKEN = "admin-token-for-tests";
  @TempDir
  static Path dir;
  private static RunningGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    gateway = RunningGateway.start(dir, RunningGateway.ON_THE_MOCK + RunningGateway.adminYaml(TOKEN, dir) + """
        usage:
          journal_path: "%s"
        metrics:
          custom_labels: ["user_id", "api_key"]
        auth:
          enabled: true
          skip_paths: ["/health"]
          status_codes:
            not_found:
              http_code: 401
              message: "Ask the platform team for a key"
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "Team A"
                    user_id: "alice"
                  - key: "%s"
                    user_id: "bob"
        """.formatted(dir.resolve("journal"), NAMED, PLAIN));
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
  }

  private static String message(HttpResponse<String> answer) {
    return new JsonObject(answer.body()).getJsonObject("error").getString("message");
  }

  @Test
  void withoutAKeyOnlyTheSkippedPathAnswers() throws Exception {
    assertEquals(200, gateway.get("/health").statusCode());
    for (String path : new String[] {"/metrics", "/ready", "/nowhere"}) {
      HttpResponse<String> refused = gateway.get(path);
      assertEquals(401, refused.statusCode(), path);
      assertEquals("Ask the platform team for a key", message(refused), path);
    }
    HttpResponse<String> admin = gateway.post("/admin/keys/list", "{}", "X-Admin-Token", TOKEN);
    assertEquals(401, admin.statusCode(), "the admin token alone does not open /admin/* unless it is skipped");
    HttpResponse<String> chat = gateway.chat(null, CHAT);
    assertEquals(401, chat.statusCode());
    assertEquals("Ask the platform team for a key", message(chat));
    assertTrue(gateway.backend.received().stream().noneMatch(r -> r.uri().startsWith("/v1/chat")));
  }

  @Test
  void aKeyOpensTheAdminApiAlongsideItsToken() throws Exception {
    HttpResponse<String> listed = gateway.post("/admin/keys/list", "{}", "X-Admin-Token", TOKEN,
        "Authorization", "Bearer " + NAMED);
    assertEquals(200, listed.statusCode(), listed.body());
  }

  @Test
  void metricsNameTheCallerButNeverShowTheKey() throws Exception {
    assertEquals(200, gateway.chat(NAMED, CHAT).statusCode());
    assertEquals(200, gateway.chat(PLAIN, CHAT).statusCode());
    HttpResponse<String> scraped = gateway.get("/metrics", "Authorization", "Bearer " + PLAIN);
    assertEquals(200, scraped.statusCode());
    String text = scraped.body();
    assertTrue(text.lines().anyMatch(line -> line.startsWith("llmproxy_requests_total{")
        && line.contains("api_key=\"Team A\"") && line.contains("user_id=\"alice\"") && line.contains("status=\"200\"")),
        text);
    assertTrue(text.lines().anyMatch(line -> line.startsWith("llmproxy_usage_tokens_total{")
        && line.contains("api_key=\"sk-...4321\"") && line.contains("user_id=\"bob\"")), text);
    assertFalse(text.contains(NAMED) || text.contains(PLAIN), "no key in /metrics");
    assertFalse(text.contains("0123456789") || text.contains("0123454321"), "not even a key's body");
  }
}
