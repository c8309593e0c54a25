package dev.llmproxy.launcher.reload;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReloadPlanClusterTest {

  @Test
  void theClusterSectionWaitsForARestartAndTheRestIsApplied() {
    GatewayConfig running = GatewayConfig.defaults();
    JsonObject next = running.toJson();
    next.getJsonObject("cluster").put("port", 5702).put("roles", new JsonArray().add("proxy"));
    next.getJsonObject("routing").put("timeout", "40s");
    ReloadPlan plan = ReloadPlan.between(running, GatewayConfig.fromJson(next));
    assertEquals(List.of("cluster"), plan.restartRequired());
    assertEquals(running.cluster(), plan.effective().cluster());
    assertEquals(Duration.ofSeconds(40), plan.effective().routing().timeout());
  }
}
