package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServerConfigTest {

  private static ServerConfig withListen(String listen) {
    return ConfigLoader.parse(new JsonObject().put("server", new JsonObject().put("listen", listen)), Map.of())
        .config().server();
  }

  @Test
  void hostAndPortFromListen() {
    assertEquals("0.0.0.0", withListen(":8000").host());
    assertEquals(8000, withListen(":8000").port());
    assertEquals("127.0.0.1", withListen("127.0.0.1:9000").host());
    assertEquals(9000, withListen("127.0.0.1:9000").port());
    assertEquals("::1", withListen("[::1]:8000").host());
    assertEquals(8000, withListen("[::1]:8000").port());
    assertEquals("localhost", withListen("localhost:1").host());
  }

  @Test
  void badListenIsAnError() {
    for (String bad : new String[] {"8000", "host:", "host:70000", "::1:8000"}) {
      LoadedConfig loaded = ConfigLoader.parse(new JsonObject().put("server", new JsonObject().put("listen", bad)),
          Map.of());
      assertEquals(java.util.List.of("server.listen: not host:port"), loaded.errors(), bad);
    }
  }

  @Test
  void http2AndH2c() {
    ServerConfig defaults = withListen(":8000");
    assertEquals(true, defaults.http2());
    assertEquals(false, defaults.h2c());
    LoadedConfig h2cWithoutHttp2 = ConfigLoader.parse(new JsonObject().put("server", new JsonObject()
        .put("http2", false).put("h2c", true)), Map.of());
    assertEquals(java.util.List.of("server.h2c: needs server.http2: true (h2c is HTTP/2 without TLS)"),
        h2cWithoutHttp2.errors());
    LoadedConfig wrongType = ConfigLoader.parse(new JsonObject().put("server", new JsonObject().put("h2c", "yes")),
        Map.of());
    assertEquals(1, wrongType.errors().size(), wrongType.errors().toString());
    org.junit.jupiter.api.Assertions.assertTrue(wrongType.errors().get(0).startsWith("server.h2c"),
        wrongType.errors().toString());
  }
}
