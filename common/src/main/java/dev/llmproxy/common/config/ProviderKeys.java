package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * Reads each provider's upstream key from its {@code api_key_env} variable into {@code api_key}, when the config is
 * loaded from a file (start, {@code validate}, reload). A variable that is not set is an error naming the provider
 * (a warning for a disabled one). The key's value never appears in a problem.
 */
final class ProviderKeys {

  private ProviderKeys() {
  }

  static void resolve(JsonObject tree, Map<String, String> env, Problems problems) {
    if (!(tree.getValue("providers") instanceof JsonArray providers)) {
      return;
    }
    for (int i = 0; i < providers.size(); i++) {
      if (!(providers.getValue(i) instanceof JsonObject provider)
          || !(provider.getValue("api_key_env") instanceof String variable) || variable.isEmpty()) {
        continue;
      }
      String key = env.get(variable);
      if (key != null && !key.isEmpty()) {
        provider.put("api_key", key);
        continue;
      }
      String at = "providers[" + i + "].api_key_env";
      String message = "the environment variable " + variable + " is not set (provider "
          + provider.getValue("name", provider.getValue("type", "openai")) + ")";
      if (Boolean.FALSE.equals(provider.getValue("enabled")) || "false".equals(provider.getValue("enabled"))) {
        problems.warn(at, message);
      } else {
        problems.error(at, message);
      }
    }
  }
}
