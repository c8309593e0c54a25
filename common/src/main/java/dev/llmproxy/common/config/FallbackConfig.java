package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** One of {@code routing.fallback}: when {@code primary} fails, try {@code fallback} in order; empty models = all. */
public record FallbackConfig(List<String> models, String primary, List<String> fallback) {

  public FallbackConfig {
    models = Immutables.list(models);
    fallback = Immutables.list(fallback);
  }

  static FallbackConfig read(ConfigReader r) {
    return new FallbackConfig(r.strings("models", List.of()), r.string("primary", ""),
        r.strings("fallback", List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("models", JsonOut.array(models))
        .put("primary", primary)
        .put("fallback", JsonOut.array(fallback));
  }
}
