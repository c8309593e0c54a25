package dev.llmproxy.launcher.reload;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReloadPlanTracingTest {

  @Test
  void tracingWaitsForARestart() {
    GatewayConfig running = GatewayConfig.defaults();
    JsonObject next = running.toJson();
    next.getJsonObject("tracing").put("enabled", true).put("sample_rate", 0.5);
    ReloadPlan plan = ReloadPlan.between(running, GatewayConfig.fromJson(next));
    assertEquals(List.of("tracing"), plan.restartRequired());
    assertEquals(running.tracing(), plan.effective().tracing());
  }
}
