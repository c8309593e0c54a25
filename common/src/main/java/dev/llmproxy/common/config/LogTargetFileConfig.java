package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** The {@code file:} block of {@code logging.request}/{@code logging.access}; an empty path means no file. */
public record LogTargetFileConfig(String path, int maxSizeMb, int maxBackups, String rotate, int maxAge) {

  static LogTargetFileConfig read(ConfigReader r, String defaultPath) {
    return new LogTargetFileConfig(
        r.string("path", defaultPath),
        r.integer("max_size_mb", 100),
        r.integer("max_backups", 7),
        r.string("rotate", ""),
        r.integer("max_age", 0));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("path", path)
        .put("max_size_mb", maxSizeMb)
        .put("max_backups", maxBackups)
        .put("rotate", rotate)
        .put("max_age", maxAge);
  }
}
