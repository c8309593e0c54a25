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
      """;

  @Test
  void missingParametersAreFilledInAndTheClientsValuesWin(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, YAML)) {
      HttpResponse<String> filled = gateway.chat(null,
          "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, filled.statusCode(), filled.body());
      JsonObject sent = lastBody(gateway);
      assertEquals(9, sent.getInteger("max_tokens"));
      assertEquals(0.3, sent.getDouble("temperature"));
      assertEquals("\n\n", sent.getJsonArray("stop").getString(0));
      // The mock answers max_tokens completion tokens: the override reached the backend and the usage.
      assertEquals(9, new JsonObject(filled.body()).getJsonObject("usage").getInteger("completion_tokens"));

      HttpResponse<String> own = gateway.chat(null,
          "{\"model\":\"mock\",\"max_tokens\":4,\"temperature\":1.0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, own.statusCode(), own.body());
      sent = lastBody(gateway);
      assertEquals(4, sent.getInteger("max_tokens"), "the client's value wins");
      assertEquals(1.0, sent.getDouble("temperature"));
      assertEquals("\n\n", sent.getJsonArray("stop").getString(0), "what the client left out is still filled in");

      HttpResponse<String> other = gateway.chat(null,
          "{\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, other.statusCode(), other.body());
      sent = lastBody(gateway);
      assertNull(sent.getValue("max_tokens"), "another model's request is untouched");
      assertFalse(sent.containsKey("temperature"));
    }
  }

  @Test
  void aStreamingRequestGetsTheOverridesAndStillItsUsage(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, YAML)) {
      HttpResponse<String> streamed = gateway.chat(null,
          "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, streamed.statusCode(), streamed.body());
      JsonObject sent = lastBody(gateway);
      assertEquals(9, sent.getInteger("max_tokens"));
      assertTrue(sent.getJsonObject("stream_options").getBoolean("include_usage"),
          "the gateway still asks for usage on the rewritten body");
      assertFalse(streamed.body().contains("\"usage\""), "and strips the usage chunk the client did not ask for");
    }
  }

  @Test
  void dotEnvBesideTheConfigIsReadAtStartAndAgainOnReload(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve(".env"), "LLMPROXY_TEST_OVERRIDE_USER=alice\n");
    String yaml = """
        server:
          listen: "{listen}"
        backends:
          - url: "{backend}"
        model_overrides:
          mock:
            user: "${LLMPROXY_TEST_OVERRIDE_USER}"
        """;
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
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
