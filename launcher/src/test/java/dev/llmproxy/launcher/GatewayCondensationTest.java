package dev.llmproxy.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code condensation}: a backend's context-length 400 is retried once with the oldest non-system messages dropped;
 * other 400s, a second refusal, and a gateway with condensation off give the client the backend's answer.
 */
class GatewayCondensationTest {

  private static final String YAML = """
      server:
        listen: "{listen}"
      backends:
        - url: "{backend}"
      condensation:
        enabled: %s
        adaptive_factor: 0.5
      """;

  /** A system message and {@code turns} user/assistant messages, the last a user's. */
  private static String conversation(int turns) {
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "system").put("content", "be brief"));
    for (int i = turns; i >= 1; i--) {
      messages.add(new JsonObject().put("role", i % 2 == 1 ? "user" : "assistant").put("content", "turn " + i));
    }
    return new JsonObject().put("model", "mock").put("max_tokens", 3).put("messages", messages).encode();
  }

  /** A gateway whose backend refuses more than {@code maxMessages} messages. */
  private static RunningGateway gateway(Path dir, boolean condensation, int maxMessages) throws Exception {
    RunningGateway gateway = RunningGateway.start(dir, YAML.formatted(condensation));
    gateway.backend.contextLimit(maxMessages);
    return gateway;
  }

  @Test
  void aContextLengthErrorIsRetriedOnceWithTheOldestMessagesDropped(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = gateway(dir, true, 3)) {
      HttpResponse<String> answer = gateway.chat(null, conversation(4));
      assertEquals(200, answer.statusCode(), answer.body());
      assertEquals(2, gateway.backend.completions(), "one refusal, one retry");
      JsonArray retried = gateway.backend.received().get(1).json().getJsonArray("messages");
      assertEquals(3, retried.size(), retried.encode());
      assertEquals("system", retried.getJsonObject(0).getString("role"), "the system message is kept");
      assertEquals("turn 2", retried.getJsonObject(1).getString("content"), "the two oldest turns are dropped");
      assertEquals("turn 1", retried.getJsonObject(2).getString("content"), "the last message is kept");
    }
  }

  @Test
  void aRequestThatStillDoesNotFitGetsTheBackendsErrorAfterOneRetry(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = gateway(dir, true, 2)) {
      HttpResponse<String> answer = gateway.chat(null, conversation(6));
      assertEquals(400, answer.statusCode(), answer.body());
      assertEquals("context_length_exceeded", new JsonObject(answer.body()).getJsonObject("error").getString("code"));
      assertEquals(2, gateway.backend.completions(), "retried once, not more");

      HttpResponse<String> otherError = gateway.post("/v1/chat/completions", conversation(6), "X-Mock-Status", "400");
      assertEquals(400, otherError.statusCode());
      assertTrue(otherError.body().contains("mock failure 400"), otherError.body());
      assertEquals(3, gateway.backend.completions(), "a 400 that is not about the context is not retried");
    }
  }

  @Test
  void withCondensationOffTheRefusalGoesToTheClient(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = gateway(dir, false, 3)) {
      HttpResponse<String> answer = gateway.chat(null, conversation(4));
      assertEquals(400, answer.statusCode(), answer.body());
      assertEquals(1, gateway.backend.completions());
    }
  }
}
