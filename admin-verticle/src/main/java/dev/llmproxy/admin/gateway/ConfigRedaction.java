package dev.llmproxy.admin.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The config as {@code GET /admin/config} shows it: secrets replaced by {@value #REDACTED}. Secret are fields named
 * like a credential (token, password, secret, key), header values whose name looks like one (Authorization,
 * X-API-Key...), and the password part of connection strings and URLs.
 */
public final class ConfigRedaction {

  static final String REDACTED = "***";
  private static final Set<String> SECRET_FIELDS = Set.of("token", "password", "secret", "key", "api_key",
      "client_secret", "access_key", "secret_key");
  private static final Pattern SECRET_HEADER = Pattern.compile("(?i).*(auth|token|key|secret|password|cookie|session).*");
  /** {@code scheme://user:pass@} and MySQL's {@code user:pass@tcp(...)}: the password is what sits before the @. */
  private static final Pattern USER_INFO = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://)?([^:/@\\s]*):([^@\\s]*)@");
  /** {@code password=...} in key-value DSNs and query strings. */
  private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)\\b(password|passwd|pwd|sslpassword)=([^&;\\s]*)");

  private ConfigRedaction() {
  }

  public static JsonObject redact(JsonObject config) {
    return (JsonObject) walk(config.copy(), null);
  }

  private static Object walk(Object value, String field) {
    if (value instanceof JsonObject object) {
      boolean headers = "headers".equals(field);
      for (String name : List.copyOf(object.fieldNames())) {
        Object child = object.getValue(name);
        if (child instanceof String s && !s.isEmpty() && (headers ? SECRET_HEADER.matcher(name).matches()
            : SECRET_FIELDS.contains(name.toLowerCase(Locale.ROOT)))) {
          object.put(name, REDACTED);
        } else {
          object.put(name, walk(child, name));
        }
      }
      return object;
    }
    if (value instanceof JsonArray array) {
      for (int i = 0; i < array.size(); i++) {
        array.set(i, walk(array.getValue(i), field));
      }
      return array;
    }
    if (value instanceof String s && field != null && (field.equals("dsn") || field.endsWith("url")
        || field.equals("addr") || field.equals("host") || field.equals("endpoints"))) {
      return connectionString(s);
    }
    return value;
  }

  /** The string with its password parts redacted. */
  static String connectionString(String s) {
    String out = USER_INFO.matcher(s).replaceFirst(m -> m.group(2).isEmpty() && m.group(3).isEmpty()
        ? m.group() : java.util.regex.Matcher.quoteReplacement(
            (m.group(1) == null ? "" : m.group(1)) + m.group(2) + ":" + REDACTED + "@"));
    return PASSWORD_PARAM.matcher(out).replaceAll(m -> m.group(1) + "=" + REDACTED);
  }
}
