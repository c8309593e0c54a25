package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code auth.quota_enforcement}: settle by default, strict when asked, anything else an error by its path. */
class QuotaEnforcementConfigTest {

  @Test
  void settleByDefaultStrictWhenAskedAndShownInTheConfig() {
    LoadedConfig defaults = TestConfigs.loadYaml("auth:\n  enabled: false\n");
    assertTrue(defaults.ok(), defaults.errors()::toString);
    assertEquals("settle", defaults.config().auth().quotaEnforcement());
    assertFalse(defaults.config().auth().strictQuota());

    LoadedConfig strict = TestConfigs.loadYaml("auth:\n  quota_enforcement: strict\n");
    assertTrue(strict.ok(), strict.errors()::toString);
    assertTrue(strict.config().auth().strictQuota());
    assertEquals("strict", strict.config().auth().toJson().getString("quota_enforcement"));
    assertFalse(String.join("\n", strict.warnings()).contains("unknown field"), strict.warnings()::toString);
  }

  @Test
  void anUnknownModeIsAnErrorByItsPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("auth:\n  quota_enforcement: hard\n");
    assertFalse(loaded.ok());
    String errors = String.join("\n", loaded.errors());
    assertTrue(errors.contains("auth.quota_enforcement: must be one of settle, strict"), errors);
  }
}
