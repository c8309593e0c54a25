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
}
