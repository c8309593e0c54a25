package dev.llmproxy.launcher;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The proxy and the auth verticle together, as the launcher deploys them, configured as users write it. */
class GatewayAuthTest {

  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[]}";
  @TempDir
  static Path dir;
  private static RunningGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    gateway = RunningGateway.start(dir, RunningGateway.ON_THE_MOCK + RunningGateway.TEAM_A_AUTH + """
                  - key: "sk-off-0123456789"
                    status: "disabled"
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
  }

  @Test
  void aValidKeyPassesAndIsNotForwarded() throws Exception {
    assertEquals(200, gateway.chat(RunningGateway.TEAM_A_KEY, CHAT).statusCode());
    var received = gateway.backend.received();
    assertEquals(null, received.get(received.size() - 1).headers().get("Authorization"));
  }

  @Test
  void anUnknownKeyIs401AndADisabledOne403() throws Exception {
    HttpResponse<String> unknown = gateway.chat("sk-nope-0123456789", CHAT);
    assertEquals(401, unknown.statusCode());
    assertEquals("invalid_api_key", new JsonObject(unknown.body()).getJsonObject("error").getString("code"));
    HttpResponse<String> disabled = gateway.chat("sk-off-0123456789", CHAT);
    assertEquals(403, disabled.statusCode());
    assertEquals("API Key is disabled", new JsonObject(disabled.body()).getJsonObject("error").getString("message"));
    assertEquals(401, gateway.chat(null, CHAT).statusCode());
  }

  @Test
  void healthNeedsNoKey() throws Exception {
    assertEquals(200, gateway.get("/health").statusCode());
  }
}
