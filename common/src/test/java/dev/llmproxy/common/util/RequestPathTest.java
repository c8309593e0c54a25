package dev.llmproxy.common.util;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The one path check: spellings a backend could read as another path are refused, plain paths pass. */
class RequestPathTest {

  @Test
  void pathsThatCouldChangeMeaningBehindTheGatewayAreRefused() {
    List<String> passed = new ArrayList<>();
    for (String path : List.of("v1/models", "", "//v1/models", "/v1//chat", "/v1/.", "/v1/./x", "/v1/..", "/../v1",
        "/v1/models;x", "/v1/models/..;/chat/completions", "/v1\\models", "/v1/%2e%2e/x", "/v1/%2E/x",
        "/v1/models%2fx", "/v1/models%2F..%2Fchat", "/v1/%5c", "/v1/%3b", "/v1/%252e%252e", "/v1/%25", "/v1/%63hat",
        "/v1/%7E", "/v1/%00", "/v1/%zz", "/v1/%2", "/v1/%")) {
      if (RequestPath.refusal(path) == null) {
        passed.add(path);
      }
    }
    assertEquals(List.of(), passed);
  }

  @Test
  void plainPathsPass() {
    List<String> refused = new ArrayList<>();
    for (String path : List.of("/", "/v1/models", "/v1/models/", "/v1/files/report.v2.json", "/v1/files/...",
        "/v1/files/a%20b", "/v1/files/%C3%A9t%C3%A9", "/V1/Models", "/.well-known/x")) {
      if (RequestPath.refusal(path) != null) {
        refused.add(path + ": " + RequestPath.refusal(path));
      }
    }
    assertEquals(List.of(), refused);
  }
}
