package dev.llmproxy.common.config;

import java.util.List;

/** The outcome of loading: a config only when there is no error; warnings either way. */
public record LoadedConfig(GatewayConfig config, List<String> warnings, List<String> errors) {

  public LoadedConfig {
    warnings = Immutables.list(warnings);
    errors = Immutables.list(errors);
    if (!errors.isEmpty()) {
      config = null;
    }
  }

  public boolean ok() {
    return errors.isEmpty();
  }
}
