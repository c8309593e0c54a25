package dev.llmproxy.common.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every Lua script a config makes the gateway load, by its config path: the ones start-up compiles (so that
 * {@code validate} compiles the same ones and fails the same way), and the hooks. A block that is off, or that
 * belongs to a module or entry that is off, is not loaded and not listed.
 */
public final class ScriptBlocks {

  private ScriptBlocks() {
  }

  public static Map<String, ScriptConfig> inUse(GatewayConfig c) {
    Map<String, ScriptConfig> scripts = new LinkedHashMap<>();
    List<AuthProviderConfig> pipeline = c.auth().pipeline();
    for (int i = 0; i < pipeline.size(); i++) {
      AuthProviderConfig p = pipeline.get(i);
      String at = "auth.pipeline[" + i + "]";
      if (!p.enabled()) {
        continue;
      }
      if (p.type().equals("lua")) {
        add(scripts, at + ".lua", p.lua(), true);
      } else {
        add(scripts, at + ".script", p.script(), p.script().enabled());
      }
    }
    add(scripts, "routing.script", c.routing().script(), c.routing().script().enabled());
    RateLimitConfig limit = c.rateLimit();
    add(scripts, "rate_limit.script", limit.script(), limit.enabled() && limit.script().enabled());
    DiscoveryConfig discovery = c.discovery();
    for (int i = 0; i < discovery.sources().size(); i++) {
      DiscoverySourceConfig s = discovery.sources().get(i);
      add(scripts, "discovery.sources[" + i + "].script", s.script(),
          discovery.enabled() && s.enabled() && s.script().enabled());
    }
    HealthCheckConfig health = c.healthCheck();
    add(scripts, "health_check.script", health.script(), health.enabled() && health.script().enabled());
    LoggingConfig logging = c.logging();
    add(scripts, "logging.request.script", logging.request().script(),
        logging.enabled() && logging.request().enabled() && logging.request().script().enabled());
    add(scripts, "logging.access.script", logging.access().script(),
        logging.enabled() && logging.access().enabled() && logging.access().script().enabled());
    UsageConfig usage = c.usage();
    for (int i = 0; i < usage.reporters().size(); i++) {
      ReporterConfig r = usage.reporters().get(i);
      add(scripts, "usage.reporters[" + i + "].script", r.script(),
          usage.enabled() && r.enabled() && r.script().enabled());
    }
    c.hooks().byName().forEach((name, hook) ->
        add(scripts, "hooks." + name, hook, c.hooks().enabled() && hook.enabled()));
    return scripts;
  }

  /** Blocks without source are left to the validator, which reports them as missing a path or script. */
  private static void add(Map<String, ScriptConfig> scripts, String path, ScriptConfig script, boolean loaded) {
    if (loaded && script.hasSource()) {
      scripts.put(path, script);
    }
  }
}
