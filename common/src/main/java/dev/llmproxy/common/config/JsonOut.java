package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Helpers for the canonical JSON form written by the records' {@code toJson()}. */
final class JsonOut {

  private JsonOut() {
  }

  static String duration(Duration d) {
    return Durations.format(d);
  }

  static JsonArray array(List<?> values) {
    return new JsonArray(List.copyOf(values));
  }

  static <T> JsonArray array(List<T> values, Function<T, JsonObject> toJson) {
    JsonArray out = new JsonArray();
    values.forEach(v -> out.add(toJson.apply(v)));
    return out;
  }

  /** The fields a typed entry of a list ({@code auth.pipeline}, {@code usage.reporters}, ...) starts with. */
  static JsonObject typedEntry(String name, String type, boolean enabled) {
    return new JsonObject().put("name", name).put("type", type).put("enabled", enabled);
  }

  static JsonObject strings(Map<String, String> map) {
    JsonObject out = new JsonObject();
    map.forEach(out::put);
    return out;
  }
}
