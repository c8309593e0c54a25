package dev.llmproxy.launcher.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code auth.quota_enforcement} is the proxy's: a reload applies it there at once, and it is not taken for a change
 * of what quota charging reads (which waits for a restart).
 */
class ReloadPlanQuotaEnforcementTest {

  private static GatewayConfig with(String enforcement) {
    JsonObject json = GatewayConfig.defaults().toJson();
    json.getJsonObject("auth").put("quota_enforcement", enforcement);
    return GatewayConfig.fromJson(json);
  }

  @Test
  void switchingToStrictIsAppliedByTheProxyWithoutARestart() {
    ReloadPlan plan = ReloadPlan.between(with("settle"), with("strict"));
    assertTrue(plan.proxy(), "the proxy enforces it");
    assertEquals(List.of(), plan.restartRequired());
    assertTrue(plan.effective().auth().strictQuota());
  }
}
