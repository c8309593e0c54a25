package dev.llmproxy.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class LlamaServerTest {

  @Test
  @Timeout(180)
  void chatCompletionHasExactCompletionTokens() throws Exception {
    try (LlamaServer llama = LlamaServer.start()) {
      assertTrue(llama.port() > 0);
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
          + "\"max_tokens\":8,\"ignore_eos\":true}";
      HttpRequest req = HttpRequest.newBuilder(URI.create(llama.baseUrl() + "/v1/chat/completions"))
          .timeout(Duration.ofSeconds(60))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body))
          .build();
      HttpResponse<String> rsp = client.send(req, HttpResponse.BodyHandlers.ofString());
      assertEquals(200, rsp.statusCode(), rsp.body());
      JsonObject json = new JsonObject(rsp.body());
      assertEquals(8, json.getJsonObject("usage").getInteger("completion_tokens"), rsp.body());
      assertEquals("length", json.getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
      assertFalse(json.getJsonArray("choices").getJsonObject(0)
          .getJsonObject("message").getString("content").isEmpty());
    }
  }
}
