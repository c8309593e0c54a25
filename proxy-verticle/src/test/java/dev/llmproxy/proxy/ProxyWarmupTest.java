package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VertxExtension.class)
class ProxyWarmupTest {

  @Test
  void drivesTheRequestPathWithoutTouchingTheRealBackendOrBus(Vertx vertx, VertxTestContext ctx) {
    AtomicInteger usageOnRealBus = new AtomicInteger();
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, m -> usageOnRealBus.incrementAndGet());
    MockLlmBackend.start(vertx, 0).compose(backend -> {
      GatewayConfig config = config(backend.baseUrl());
      return ProxyWarmup.run(vertx, config).map(result -> {
        ctx.verify(() -> {
          assertTrue(result.completed() > 50, "warm-up requests completed: " + result.completed());
          assertEquals(0, result.failed(), "every warm-up request, auth and limits configured, got a 200");
          assertEquals(0, backend.received().size(), "the configured backend never sees warm-up traffic");
          assertEquals(0, usageOnRealBus.get(), "no warm-up usage record reaches the gateway's usage verticle");
        });
        return result;
      });
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void zeroBudgetDoesNothing(Vertx vertx, VertxTestContext ctx) {
    GatewayConfig config = loaded(new JsonObject().put("backends", new JsonArray()
        .add(new JsonObject().put("name", "b").put("url", "http://127.0.0.1:9"))));
    ProxyWarmup.run(vertx, config).onComplete(ctx.succeeding(result -> ctx.verify(() -> {
      assertEquals(0, result.completed());
      ctx.completeNow();
    })));
  }

  private static GatewayConfig config(String backendUrl) {
    return loaded(new JsonObject()
        .put("server", new JsonObject().put("listen", "127.0.0.1:1").put("warmup", "3s"))
        .put("backends", new JsonArray().add(new JsonObject().put("name", "real").put("url", backendUrl)
            .put("models", new JsonArray().add("real-model"))))
        .put("auth", new JsonObject().put("enabled", true))
        .put("rate_limit", new JsonObject().put("enabled", true)
            .put("global", new JsonObject().put("requests_per_second", 1))));
  }

  private static GatewayConfig loaded(JsonObject raw) {
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    if (!loaded.ok()) {
      throw new IllegalArgumentException(String.join("; ", loaded.errors()));
    }
    return loaded.config();
  }
}
