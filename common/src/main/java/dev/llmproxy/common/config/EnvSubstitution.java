package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces {@code ${VAR}} and {@code ${VAR:-default}} in every string value. As in a shell,
 * {@code :-} also applies when the variable is set but empty; an unset variable without default is an
 * error naming the path.
 */
final class EnvSubstitution {

  private static final Pattern REFERENCE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");

  private EnvSubstitution() {
  }

  /** A substituted copy of {@code raw}. */
  static JsonObject apply(JsonObject raw, Map<String, String> env, Problems problems) {
    return object(raw, "", env, problems);
  }

  private static JsonObject object(JsonObject in, String path, Map<String, String> env, Problems problems) {
    JsonObject out = new JsonObject();
    for (String key : in.fieldNames()) {
      out.put(key, value(in.getValue(key), path.isEmpty() ? key : path + "." + key, env, problems));
    }
    return out;
  }

  private static Object value(Object v, String path, Map<String, String> env, Problems problems) {
    if (v instanceof JsonObject o) {
      return object(o, path, env, problems);
    }
    if (v instanceof JsonArray a) {
      JsonArray out = new JsonArray();
      for (int i = 0; i < a.size(); i++) {
        out.add(value(a.getValue(i), path + "[" + i + "]", env, problems));
      }
      return out;
    }
    if (v instanceof String s && s.contains("${")) {
      return substitute(s, path, env, problems);
    }
    return v;
  }

  static String substitute(String text, String path, Map<String, String> env, Problems problems) {
    Matcher m = REFERENCE.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String value = env.get(name);
      boolean hasDefault = m.group(2) != null;
      if (hasDefault && (value == null || value.isEmpty())) {
        value = m.group(3);
      }
      if (value == null) {
        problems.error(path, "environment variable " + name + " is not set");
        value = "";
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }
}
