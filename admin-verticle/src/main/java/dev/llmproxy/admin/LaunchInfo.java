package dev.llmproxy.admin;

/**
 * What only the launcher knows and the admin API shows: the config file the gateway was started with (reread by
 * {@code POST /admin/config/reload}; null when it was started from a config object) and the gateway's version.
 */
public record LaunchInfo(String configPath, String version) {

  public static LaunchInfo unknown() {
    return new LaunchInfo(null, "unknown");
  }
}
