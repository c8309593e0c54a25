package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code model_overrides} (seed 002): per model, request parameters the gateway fills in when the client did not
 * set them; a value the client sent always wins. Applied once to the body that goes upstream (the proxy's
 * {@code ModelOverridesStep}); {@link #valueFor} serves a dialect translation that needs a default of its own
 * (Anthropic's required {@code max_tokens}).
 */
public record ModelOverrides(Map<String, JsonObject> byModel) {

  public static final ModelOverrides NONE = new ModelOverrides(Map.of());

  public ModelOverrides {
    Map<String, JsonObject> copy = new LinkedHashMap<>();
    byModel.forEach((model, values) -> copy.put(model, values.copy()));
    byModel = java.util.Collections.unmodifiableMap(copy);
  }

  public boolean isEmpty() {
    return byModel.isEmpty();
  }

  /** The parameters configured for {@code model} (a copy), or null when there are none. */
  public JsonObject forModel(String model) {
    JsonObject values = model == null ? null : byModel.get(model);
    return values == null || values.isEmpty() ? null : values.copy();
  }

  /** The value configured for {@code param} of {@code model}, or null. */
  public Object valueFor(String model, String param) {
    JsonObject values = model == null ? null : byModel.get(model);
    return values == null ? null : values.getValue(param);
  }

  /**
   * {@code body} with the configured parameters it lacks (a key absent or JSON null counts as not set); the same
   * instance when nothing was added.
   */
  public JsonObject fill(String model, JsonObject body) {
    JsonObject values = model == null ? null : byModel.get(model);
    if (values == null) {
      return body;
    }
    JsonObject out = null;
    for (Map.Entry<String, Object> entry : values) {
      if (body.getValue(entry.getKey()) == null) {
        out = out == null ? body.copy() : out;
        out.put(entry.getKey(), entry.getValue());
      }
    }
    return out == null ? body : out;
  }

  static ModelOverrides read(ConfigReader r, String key) {
    JsonObject raw = r.mapping(key);
    Map<String, JsonObject> byModel = new LinkedHashMap<>();
    for (String model : raw.fieldNames()) {
      Object values = raw.getValue(model);
      if (values instanceof JsonObject params) {
        for (String param : params.fieldNames()) {
          if (param.equals("model") || param.equals("stream")) {
            // They decide routing and the answer's shape, which the client alone chooses.
            r.problems().error(r.path(key) + "." + model + "." + param, "cannot be overridden");
          }
        }
        byModel.put(model, params);
      } else {
        r.problems().error(r.path(key) + "." + model, "must be a mapping of request parameters to values");
      }
    }
    return new ModelOverrides(byModel);
  }

  public JsonObject toJson() {
    JsonObject out = new JsonObject();
    byModel.forEach(out::put);
    return out;
  }
}
