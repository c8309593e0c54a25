package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code model_overrides}: what the backend receives, with and without the client's own values. */
class GatewayModelOverridesTest {

  private static final String YAML = """
      server:
        listen: "{listen}"
      backends:
        - url: "{backend}"
      model_overrides:
        mock:
          max_tokens: 9
          temperature: 0.3
          stop: ["\\n\\n"]
          user: "${LLMPROXY_TEST_OVERRIDE_USER:-nobody}"
      """;

  @Test
  void missingParametersAreFilledInAndTheClientsValuesWin(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, YAML)) {
      JsonObject sent = sentFor(gateway, "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(9, sent.getInteger("max_tokens"));
      assertEquals(0.3, sent.getDouble("temperature"));
      assertEquals("\n\n", sent.getJsonArray("stop").getString(0));

      sent = sentFor(gateway,
          "{\"model\":\"mock\",\"max_tokens\":4,\"temperature\":1.0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(4, sent.getInteger("max_tokens"), "the client's value wins");
      assertEquals(1.0, sent.getDouble("temperature"));
      assertEquals("\n\n", sent.getJsonArray("stop").getString(0), "what the client left out is still filled in");

      sent = sentFor(gateway, "{\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertNull(sent.getValue("max_tokens"), "another model's request is untouched");
      assertFalse(sent.containsKey("temperature"));

      HttpResponse<String> embedded = gateway.post("/v1/embeddings", "{\"model\":\"mock\",\"input\":\"x\"}");
      assertEquals(200, embedded.statusCode(), embedded.body());
      assertFalse(lastBody(gateway).containsKey("max_tokens"), "embeddings are not generation requests");

      // The mock answers max_tokens completion tokens: the override reached the backend and the usage.
      HttpResponse<String> answer = gateway.chat(null, "{\"model\":\"mock\",\"messages\":[]}");
      assertEquals(9, new JsonObject(answer.body()).getJsonObject("usage").getInteger("completion_tokens"));

      HttpResponse<String> streamed = gateway.chat(null,
          "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, streamed.statusCode(), streamed.body());
      sent = lastBody(gateway);
      assertEquals(9, sent.getInteger("max_tokens"), "a stream gets the overrides too");
      assertTrue(sent.getJsonObject("stream_options").getBoolean("include_usage"),
          "the gateway still asks for usage on the rewritten body");
      assertFalse(streamed.body().contains("\"usage\""), "and strips the usage chunk the client did not ask for");
    }
  }

  /** What the backend received for {@code body}, which was answered 200. */
  private static JsonObject sentFor(RunningGateway gateway, String body) throws Exception {
    HttpResponse<String> answer = gateway.chat(null, body);
    assertEquals(200, answer.statusCode(), answer.body());
    return lastBody(gateway);
  }

  @Test
  void dotEnvBesideTheConfigIsReadAtStartAndAgainOnReload(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve(".env"), "LLMPROXY_TEST_OVERRIDE_USER=alice\n");
    try (RunningGateway gateway = RunningGateway.start(dir, YAML)) {
      String chat = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      assertEquals(200, gateway.chat(null, chat).statusCode());
      assertEquals("alice", lastBody(gateway).getString("user"));

      java.nio.file.Files.writeString(dir.resolve(".env"), "LLMPROXY_TEST_OVERRIDE_USER=bob\n");
      JsonObject outcome = RunningGateway.await(gateway.gateway.reloadFile(), 30);
      assertTrue(outcome.encode().contains("proxy"), outcome.encode());
      assertEquals(200, gateway.chat(null, chat).statusCode());
      assertEquals("bob", lastBody(gateway).getString("user"), "the reload read .env again");
    }
  }

  private static JsonObject lastBody(RunningGateway gateway) {
    List<MockLlmBackend.Received> received = gateway.backend.received();
    return received.get(received.size() - 1).json();
  }
}
