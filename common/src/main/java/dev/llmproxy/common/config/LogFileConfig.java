package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code log.file}: used when {@code log.output} is file. {@code maxSize} in MB, {@code maxAge} in days. */
public record LogFileConfig(String path, String rotate, int maxSize, int maxAge, boolean compress) {

  static LogFileConfig read(ConfigReader r) {
    return new LogFileConfig(
        r.string("path", "./logs/llmproxy.log"),
        r.string("rotate", "daily"),
        r.integer("max_size", 100),
        r.integer("max_age", 7),
        r.bool("compress", true));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("path", path)
        .put("rotate", rotate)
        .put("max_size", maxSize)
        .put("max_age", maxAge)
        .put("compress", compress);
  }
}
