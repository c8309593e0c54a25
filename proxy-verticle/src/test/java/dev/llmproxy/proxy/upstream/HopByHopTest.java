package dev.llmproxy.proxy.upstream;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HopByHopTest {

  @Test
  void namesMatchRegardlessOfCaseAndNothingElse() {
    Set<String> names = HopByHop.names("content-length", "X-Request-ID", "server", "x-ratelimit-limit-requests");
    assertTrue(names.contains("Content-Length"));
    assertTrue(names.contains("CONTENT-LENGTH"));
    assertTrue(names.contains("x-request-id"));
    assertTrue(names.contains("X-RateLimit-Limit-Requests"));
    assertFalse(names.contains("content-lengt"));
    assertFalse(names.contains("content-length2"));
    assertFalse(names.contains("x-ratelimit-limit-tokens"));
    assertFalse(names.contains(""));
    assertFalse(names.contains(null));
    assertEquals(4, names.size());
    assertEquals(2, HopByHop.names("Host", "host", "HOST", "accept").size());
  }

  @Test
  void manyNamesStillFindEachOne() {
    String[] many = new String[40];
    for (int i = 0; i < many.length; i++) {
      many[i] = "x-header-" + i;
    }
    Set<String> names = HopByHop.names(many);
    for (int i = 0; i < many.length; i++) {
      assertTrue(names.contains("X-Header-" + i), "x-header-" + i);
    }
    assertFalse(names.contains("x-header-40"));
  }

  @Test
  void copyLeavesOutHopByHopSkippedAndConnectionListedHeaders() {
    MultiMap from = MultiMap.caseInsensitiveMultiMap()
        .add("Content-Type", "application/json")
        .add("Connection", "keep-alive, X-Private")
        .add("Keep-Alive", "timeout=5")
        .add("X-Private", "secret")
        .add("Transfer-Encoding", "chunked")
        .add("Host", "example")
        .add("Accept", "a")
        .add("Accept", "b");
    MultiMap to = MultiMap.caseInsensitiveMultiMap();
    HopByHop.copy(from, to, HopByHop.names("host"));
    assertEquals("application/json", to.get("content-type"));
    assertEquals(java.util.List.of("a", "b"), to.getAll("Accept"));
    assertNull(to.get("Connection"));
    assertNull(to.get("Keep-Alive"));
    assertNull(to.get("X-Private"));
    assertNull(to.get("Transfer-Encoding"));
    assertNull(to.get("Host"));
    assertEquals(3, to.entries().size());
  }
}
