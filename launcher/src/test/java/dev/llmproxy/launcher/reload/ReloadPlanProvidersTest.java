package dev.llmproxy.launcher.reload;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** A reload that changes providers reaches discovery (their backends) and the proxy (their keys). */
class ReloadPlanProvidersTest {

  private static GatewayConfig with(JsonArray backends, JsonArray providers) {
    JsonObject json = GatewayConfig.defaults().toJson().put("backends", backends).put("providers", providers);
    return GatewayConfig.fromJson(json);
  }

  private static JsonArray backend(String key) {
    return new JsonArray().add(new JsonObject().put("name", "b").put("url", "http://127.0.0.1:8080")
        .put("provider", "anthropic").put("api_key", key));
  }

  private static JsonArray provider(String key) {
    return new JsonArray().add(new JsonObject().put("name", "p").put("type", "openai").put("api_key", key));
  }

  @Test
  void aNewProviderKeyIsAppliedByTheProxyAndANewProviderByDiscovery() {
    ReloadPlan rotated = ReloadPlan.between(with(new JsonArray(), provider("k1")), with(new JsonArray(), provider("k2")));
    assertTrue(rotated.proxy(), "the proxy holds the keys");
    assertTrue(rotated.discovery(), "a provider is a backend");
  }

  @Test
  void aBackendsKeyIsAppliedByTheProxyAndItsWeightOnlyByDiscovery() {
    ReloadPlan rotated = ReloadPlan.between(with(backend("k1"), new JsonArray()), with(backend("k2"), new JsonArray()));
    assertTrue(rotated.proxy(), "a backend's api_key lives in the proxy's config");
    JsonArray heavier = backend("k1");
    heavier.getJsonObject(0).put("weight", 5);
    ReloadPlan weighed = ReloadPlan.between(with(backend("k1"), new JsonArray()), with(heavier, new JsonArray()));
    assertFalse(weighed.proxy(), "the rest of a backend reaches the proxy as a snapshot");
    assertTrue(weighed.discovery());
  }
}
