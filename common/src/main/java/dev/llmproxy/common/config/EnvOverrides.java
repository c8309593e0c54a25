package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Applies {@code LLMPROXY_*} variables to single fields. The name is matched against the schema
 * (the canonical form of the defaults) rather than split blindly, so underscores inside field names
 * work: {@code LLMPROXY_ROUTING_RETRY_MAX_RETRIES} is {@code routing.retry.max_retries}. Lists of
 * scalars take a comma-separated value; lists of mappings cannot be overridden.
 */
final class EnvOverrides {

  static final String PREFIX = "LLMPROXY_";
  /**
   * Variables of ours that are not config fields: the launcher reads the config path from the first, the usage
   * journal its encryption key from the second (a secret that must not sit in a config file).
   */
  static final Set<String> NOT_FIELDS = Set.of("LLMPROXY_CONFIG", "LLMPROXY_JOURNAL_KEY");
  private static final Set<String> LISTS_OF_MAPPINGS =
      Set.of("backends", "databases", "caches", "sources", "pipeline", "reporters", "fallback", "keys");

  private EnvOverrides() {
  }

  static void apply(JsonObject raw, Map<String, String> env, Problems problems) {
    JsonObject schema = GatewayConfig.defaults().toJson();
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(PREFIX) || NOT_FIELDS.contains(name)) {
        continue;
      }
      String[] tokens = name.substring(PREFIX.length()).toLowerCase().split("_");
      Optional<List<String>> path = resolve(schema, tokens, 0);
      if (path.isEmpty()) {
        problems.warn(name, "names no config field");
        continue;
      }
      set(raw, path.get(), schemaValue(schema, path.get()), e.getValue());
    }
  }

  private static Optional<List<String>> resolve(JsonObject schema, String[] tokens, int from) {
    for (int end = from + 1; end <= tokens.length; end++) {
      String key = String.join("_", Arrays.copyOfRange(tokens, from, end));
      if (!schema.containsKey(key)) {
        continue;
      }
      Object v = schema.getValue(key);
      if (end == tokens.length) {
        if (v instanceof JsonObject || (v instanceof JsonArray && LISTS_OF_MAPPINGS.contains(key))) {
          continue;
        }
        return Optional.of(List.of(key));
      }
      if (v instanceof JsonObject child) {
        Optional<List<String>> rest = resolve(child, tokens, end);
        if (rest.isPresent()) {
          List<String> path = new ArrayList<>();
          path.add(key);
          path.addAll(rest.get());
          return Optional.of(path);
        }
      }
    }
    return Optional.empty();
  }

  private static Object schemaValue(JsonObject schema, List<String> path) {
    JsonObject at = schema;
    for (int i = 0; i < path.size() - 1; i++) {
      at = at.getJsonObject(path.get(i));
    }
    return at.getValue(path.get(path.size() - 1));
  }

  private static void set(JsonObject raw, List<String> path, Object schemaValue, String value) {
    JsonObject at = raw;
    for (int i = 0; i < path.size() - 1; i++) {
      Object next = at.getValue(path.get(i));
      if (!(next instanceof JsonObject)) {
        next = new JsonObject();
        at.put(path.get(i), next);
      }
      at = (JsonObject) next;
    }
    String key = path.get(path.size() - 1);
    if (schemaValue instanceof JsonArray) {
      JsonArray items = new JsonArray();
      Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(items::add);
      at.put(key, items);
    } else {
      at.put(key, value);
    }
  }
}
