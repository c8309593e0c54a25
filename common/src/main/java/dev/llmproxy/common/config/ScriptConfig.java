package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * A Lua script block: a file ({@code path}) or inline source ({@code script}, seed 001 called it
 * {@code code}); {@code maxMemory} in MB.
 */
public record ScriptConfig(boolean enabled, String path, String script, Duration timeout, int maxMemory) {

  /** Defaults of the {@code script:} blocks that post-process module data. */
  public static final ScriptConfig DEFAULT = new ScriptConfig(false, "", "", Duration.ofSeconds(1), 10);
  /** Defaults of lifecycle hooks, which run on every request and so get a tighter budget. */
  public static final ScriptConfig HOOK_DEFAULT = new ScriptConfig(false, "", "", Duration.ofMillis(100), 10);

  /** True when there is something to run. */
  public boolean hasSource() {
    return !path.isEmpty() || !script.isEmpty();
  }

  /** The {@code script:} block of a module, which post-processes its data; {@link #DEFAULT} where absent. */
  static ScriptConfig postProcessing(ConfigReader r) {
    return r.section("script", s -> read(s, DEFAULT));
  }

  static ScriptConfig read(ConfigReader r, ScriptConfig defaults) {
    String inline = r.string("script", "");
    if (r.has("code")) {
      String code = r.string("code", "");
      if (inline.isEmpty()) {
        inline = code;
        r.problems().warn(r.path("code"), "deprecated, use " + r.path("script"));
      } else {
        r.problems().warn(r.path("code"), "ignored because " + r.path("script") + " is set");
      }
    }
    return new ScriptConfig(
        r.bool("enabled", defaults.enabled()),
        r.string("path", defaults.path()),
        inline.isEmpty() ? defaults.script() : inline,
        r.duration("timeout", defaults.timeout()),
        r.integer("max_memory", defaults.maxMemory()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("path", path)
        .put("script", script)
        .put("timeout", JsonOut.duration(timeout))
        .put("max_memory", maxMemory);
  }
}
