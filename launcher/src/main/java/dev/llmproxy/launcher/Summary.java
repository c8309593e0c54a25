package dev.llmproxy.launcher;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.GatewayConfig;

/** The one-screen summary {@code validate} prints for a valid config. */
final class Summary {

  private Summary() {
  }

  static String of(String path, GatewayConfig config) {
    StringBuilder out = new StringBuilder();
    out.append(path).append(": valid\n");
    out.append("listen:    ").append(ListenAddress.of(config.server()).describe(config.server().listen())).append('\n');
    out.append("backends:  ").append(config.routedBackends().size()).append('\n');
    for (BackendConfig backend : config.routedBackends()) {
      out.append("  - ").append(backend.name()).append("  ").append(backend.url())
          .append("  weight=").append(backend.weight())
          .append(backend.provider().equals("openai") ? "" : "  provider=" + backend.provider())
          .append("  models=").append(backend.models().isEmpty() ? "any" : String.join(",", backend.models()))
          .append('\n');
    }
    out.append("routing:   ").append(config.routing().loadBalance())
        .append(", timeout ").append(config.routing().timeout().toSeconds()).append("s\n");
    out.append("modules:   ")
        .append(flag("auth", config.auth().enabled()))
        .append(flag("rate_limit", config.rateLimit().enabled()))
        .append(flag("discovery", config.discovery().enabled()))
        .append(flag("health_check", config.healthCheck().enabled()))
        .append(flag("admin", config.admin().enabled()))
        .append(flag("usage", config.usage().enabled()))
        .append(flag("metrics", config.metrics().enabled()))
        .append(flag("hooks", config.hooks().enabled()))
        .append('\n');
    if (config.auth().enabled()) {
      out.append("auth:      ").append(config.auth().mode()).append(", ").append(config.auth().pipeline().size())
          .append(" provider(s)\n");
    }
    if (config.rateLimit().enabled() && !config.rateLimit().routes().isEmpty()) {
      out.append("routes:    ").append(config.rateLimit().routes().stream().map(r -> r.path() + " " + r.rate())
          .collect(java.util.stream.Collectors.joining(", ")))
          .append(config.auth().enabled() ? " (per key; per client address without one)" : " (per client address)")
          .append('\n');
    }
    if (!config.auth().enabled() && ListenAddress.of(config.server()).allInterfaces()) {
      out.append("warning:   ").append(Gateway.openWarning(config)).append('\n');
    }
    if (config.cluster().enabled()) {
      out.append("cluster:   ").append(config.cluster().name()).append(" as ").append(config.cluster().host())
          .append(':').append(config.cluster().port()).append(", roles ")
          .append(String.join(",", config.cluster().roles())).append(", ").append(config.cluster().members().size())
          .append(" member(s) to join\n");
    }
    return out.toString();
  }

  private static String flag(String name, boolean on) {
    return name + (on ? "=on " : "=off ");
  }
}
