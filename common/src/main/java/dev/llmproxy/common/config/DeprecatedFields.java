package dev.llmproxy.common.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/**
 * Moves fields of older layouts (seeds 001, 003, 004) to their place in the reference layout, in the
 * raw tree before it is read, with one warning each naming the old and the new path.
 */
final class DeprecatedFields {

  private DeprecatedFields() {
  }

  static void apply(JsonObject raw, Problems problems) {
    topLevelListen(raw, problems);
    loadBalanceStrategy(raw, problems);
    usageHook(raw, problems);
    apiKeys(raw, problems);
    providerLegacy(raw, problems);
    scriptsSection(raw, problems);
    rateLimitCacheName(raw, problems);
    requestLogStorage(raw, problems);
  }

  private static void topLevelListen(JsonObject raw, Problems problems) {
    if (!raw.containsKey("listen")) {
      return;
    }
    Object listen = raw.remove("listen");
    JsonObject server = child(raw, "server");
    if (server != null && server.getValue("listen") == null) {
      server.put("listen", listen);
      problems.warn("listen", "deprecated, use server.listen");
    } else {
      problems.warn("listen", "deprecated, use server.listen (ignored because server.listen is set)");
    }
  }

  private static void loadBalanceStrategy(JsonObject raw, Problems problems) {
    JsonObject routing = raw.getValue("routing") instanceof JsonObject r ? r : null;
    if (routing != null && routing.containsKey("load_balance_strategy")) {
      moveStrategy(raw, routing.remove("load_balance_strategy"), "routing.load_balance_strategy", problems);
    }
    if (raw.containsKey("load_balance_strategy")) {
      moveStrategy(raw, raw.remove("load_balance_strategy"), "load_balance_strategy", problems);
    }
  }

  private static void moveStrategy(JsonObject raw, Object value, String oldPath, Problems problems) {
    JsonObject routing = child(raw, "routing");
    if (routing != null && routing.getValue("load_balance") == null) {
      routing.put("load_balance", value);
      problems.warn(oldPath, "deprecated, use routing.load_balance");
    } else {
      problems.warn(oldPath, "deprecated, use routing.load_balance (ignored because routing.load_balance is set)");
    }
  }

  /** Seed 004's {@code usage_hook.reporters[]} with flat webhook fields, or seed 003's single flat webhook. */
  private static void usageHook(JsonObject raw, Problems problems) {
    if (!raw.containsKey("usage_hook")) {
      return;
    }
    Object value = raw.remove("usage_hook");
    problems.warn("usage_hook", "deprecated, use usage.reporters");
    if (!(value instanceof JsonObject hook)) {
      problems.error("usage_hook", "must be a mapping");
      return;
    }
    JsonObject usage = child(raw, "usage");
    if (usage == null) {
      return;
    }
    if (usage.getValue("enabled") == null && hook.getValue("enabled") != null) {
      usage.put("enabled", hook.getValue("enabled"));
    }
    JsonArray reporters = usage.getValue("reporters") instanceof JsonArray a ? a : new JsonArray();
    usage.put("reporters", reporters);
    if (hook.getValue("reporters") instanceof JsonArray legacy) {
      for (int i = 0; i < legacy.size(); i++) {
        if (legacy.getValue(i) instanceof JsonObject r) {
          reporters.add(reporter(raw, r, "usage_hook_" + i));
        } else {
          problems.error("usage_hook.reporters[" + i + "]", "must be a mapping");
        }
      }
    } else if (hook.getValue("url") != null) {
      JsonObject flat = hook.copy().put("name", "webhook").put("type", "webhook").put("enabled", true);
      reporters.add(reporter(raw, flat, "webhook"));
    }
  }

  private static JsonObject reporter(JsonObject raw, JsonObject legacy, String fallbackName) {
    String name = legacy.getValue("name") == null ? fallbackName : String.valueOf(legacy.getValue("name"));
    String type = legacy.getValue("type") == null ? "webhook" : String.valueOf(legacy.getValue("type"));
    JsonObject out = new JsonObject().put("name", name).put("type", type);
    copy(legacy, out, "enabled");
    copy(legacy, out, "builtin");
    copy(legacy, out, "script");
    if (legacy.getValue("webhook") instanceof JsonObject webhook) {
      out.put("webhook", webhook);
    } else if (type.equals("webhook")) {
      JsonObject webhook = new JsonObject();
      for (String field : List.of("url", "method", "timeout", "retry", "headers", "include_raw_key")) {
        copy(legacy, webhook, field);
      }
      out.put("webhook", webhook);
    }
    if (legacy.getValue("database") instanceof JsonObject db) {
      out.put("database", databaseReporter(raw, db, "usage_" + name));
    }
    return out;
  }

  /** An inline connection ({@code driver}, {@code dsn}, ...) becomes a named pool in storage.databases. */
  private static JsonObject databaseReporter(JsonObject raw, JsonObject legacy, String poolName) {
    if (legacy.getValue("driver") == null && legacy.getValue("dsn") == null) {
      return legacy;
    }
    JsonObject pool = new JsonObject().put("name", poolName);
    for (String field : List.of("driver", "dsn", "host", "port", "user", "password", "database", "path")) {
      copy(legacy, pool, field);
    }
    addToList(raw, "storage", "databases", pool);
    JsonObject out = new JsonObject().put("storage", poolName);
    copy(legacy, out, "table");
    return out;
  }

  private static void apiKeys(JsonObject raw, Problems problems) {
    Object keys = raw.remove("api_keys");
    JsonObject auth = raw.getValue("auth") instanceof JsonObject a ? a : null;
    Object storage = auth == null ? null : auth.remove("storage");
    if (keys != null) {
      problems.warn("api_keys", "deprecated, use auth.pipeline[].static.keys");
    }
    if (storage != null) {
      if ("file".equals(storage)) {
        problems.warn("auth.storage", "deprecated, use auth.pipeline[].type: static");
      } else {
        problems.warn("auth.storage", "deprecated and ignored (\"" + storage + "\"), configure auth.pipeline");
      }
    }
    if (keys == null && !"file".equals(storage)) {
      return;
    }
    if (keys != null && !(keys instanceof JsonArray)) {
      problems.error("api_keys", "must be a list");
      return;
    }
    JsonObject provider = new JsonObject().put("name", "static").put("type", "static").put("enabled", true)
        .put("static", new JsonObject().put("keys", keys == null ? new JsonArray() : keys));
    addToList(raw, "auth", "pipeline", provider);
  }

  /** Seed 003's {@code lua_script:} string and inline redis connection in auth providers. */
  private static void providerLegacy(JsonObject raw, Problems problems) {
    if (!(raw.getValue("auth") instanceof JsonObject auth) || !(auth.getValue("pipeline") instanceof JsonArray pipeline)) {
      return;
    }
    for (int i = 0; i < pipeline.size(); i++) {
      if (!(pipeline.getValue(i) instanceof JsonObject provider)) {
        continue;
      }
      String at = "auth.pipeline[" + i + "]";
      if (provider.containsKey("lua_script")) {
        Object source = provider.remove("lua_script");
        JsonObject script = child(provider, "script");
        if (script != null && script.getValue("script") == null && script.getValue("path") == null) {
          script.put("script", source);
          if (script.getValue("enabled") == null) {
            script.put("enabled", true);
          }
          problems.warn(at + ".lua_script", "deprecated, use " + at + ".script.script");
        } else {
          problems.warn(at + ".lua_script", "deprecated, use " + at + ".script.script (ignored because it is set)");
        }
      }
      if (provider.getValue("redis") instanceof JsonObject redis && redis.containsKey("addr")) {
        String name = provider.getValue("name") == null ? "redis" + i : String.valueOf(provider.getValue("name"));
        String poolName = "auth_" + name;
        JsonObject pool = new JsonObject().put("name", poolName).put("driver", "redis").put("addr", redis.remove("addr"));
        if (redis.containsKey("password")) {
          pool.put("password", redis.remove("password"));
        }
        if (redis.containsKey("db")) {
          pool.put("db", redis.remove("db"));
        }
        addToList(raw, "storage", "caches", pool);
        if (redis.getValue("storage") == null) {
          redis.put("storage", poolName);
        }
        problems.warn(at + ".redis.addr",
            "deprecated, use storage.caches[name=" + poolName + "] and " + at + ".redis.storage");
      }
    }
  }

  /** Seed 001's {@code scripts.*} transforms and the lifecycle hooks that took their place. */
  private static final Map<String, String> SCRIPT_HOOKS = Map.of(
      "request_transform", "on_request",
      "response_transform", "on_response",
      "error_handler", "on_error");

  /**
   * Seed 001's top-level {@code scripts:}: its routing script becomes {@code routing.script}; its request, response
   * and error transforms become the hooks {@code on_request}, {@code on_response}, {@code on_error} (a hook written
   * in {@code hooks} wins), and {@code scripts.enabled} turns {@code hooks.enabled} on unless that is written.
   */
  private static void scriptsSection(JsonObject raw, Problems problems) {
    if (!(raw.getValue("scripts") instanceof JsonObject scripts)) {
      return;
    }
    raw.remove("scripts");
    boolean scriptsOn = !Boolean.FALSE.equals(scripts.getValue("enabled"));
    for (String name : scripts.fieldNames()) {
      if (name.equals("enabled")) {
        continue;
      }
      String hook = SCRIPT_HOOKS.get(name);
      if (name.equals("routing")) {
        JsonObject routing = child(raw, "routing");
        if (routing != null && routing.getValue("script") == null) {
          routing.put("script", scripts.getValue("routing"));
        }
        problems.warn("scripts.routing", "deprecated, use routing.script");
      } else if (hook != null) {
        JsonObject hooks = child(raw, "hooks");
        if (hooks == null || hooks.getValue(hook) != null) {
          problems.warn("scripts." + name, "ignored because hooks." + hook + " is set");
          continue;
        }
        hooks.put(hook, scripts.getValue(name));
        if (scriptsOn && hooks.getValue("enabled") == null) {
          hooks.put("enabled", true);
        }
        problems.warn("scripts." + name, "deprecated, use hooks." + hook);
      } else {
        problems.warn("scripts." + name, "not a known script; the lifecycle hooks are in hooks");
      }
    }
  }

  /**
   * Seed 001 wrote {@code rate_limit.storage: "cache"} (a cache of {@code storage.caches}; {@code rate_limit.redis} or
   * the only cache says which) or a cache's name. A redis cache becomes {@code storage: redis} with
   * {@code redis: <name>}; a memory cache holds counters in this process, which is {@code storage: memory}.
   */
  private static void rateLimitCacheName(JsonObject raw, Problems problems) {
    if (!(raw.getValue("rate_limit") instanceof JsonObject limit) || !(limit.getValue("storage") instanceof String s)
        || s.equals("memory") || s.equals("redis")) {
      return;
    }
    JsonArray caches = raw.getValue("storage") instanceof JsonObject storage
        && storage.getValue("caches") instanceof JsonArray list ? list : new JsonArray();
    String name;
    if (named(caches, s) != null) {
      if (limit.getValue("redis") != null) {
        return; // both spellings at once: the validator names the value it cannot take
      }
      name = s;
    } else if (s.equals("cache")) {
      if (limit.getValue("redis") instanceof String chosen && !chosen.isEmpty()) {
        name = chosen;
      } else if (caches.size() == 1 && caches.getValue(0) instanceof JsonObject only && only.getValue("name") != null) {
        name = String.valueOf(only.getValue("name"));
      } else {
        problems.error("rate_limit.storage", "\"cache\" needs rate_limit.redis to name one of storage.caches");
        limit.remove("storage");
        return;
      }
    } else {
      problems.error("rate_limit.storage", "\"" + s + "\" is neither memory, redis nor the name of a cache in "
          + "storage.caches");
      limit.remove("storage");
      return;
    }
    JsonObject cache = named(caches, name);
    if (cache == null) {
      // rate_limit.redis names no cache: the validator says so by path
      limit.put("storage", "redis");
      problems.warn("rate_limit.storage", "\"cache\" is deprecated here, use rate_limit.storage: redis");
      return;
    }
    if ("memory".equals(cache.getValue("driver"))) {
      limit.put("storage", "memory");
      limit.remove("redis");
      problems.warn("rate_limit.storage", "\"" + s + "\" is deprecated here; the cache \"" + name
          + "\" is a memory cache, so this is rate_limit.storage: memory (counters kept in this process)");
    } else {
      limit.put("storage", "redis").put("redis", name);
      problems.warn("rate_limit.storage", "\"" + s + "\" is deprecated here, use rate_limit.storage: redis and "
          + "rate_limit.redis: " + name);
    }
  }

  /**
   * Seed 001's {@code logging.request.storage}: {@code database / file / stdout}. {@code file} is the JSON-lines file
   * ({@code file.path}, {@value RequestLogConfig#DEFAULT_FILE} when unset), {@code stdout} is {@code stdout: true},
   * and {@code database} (when no database has that name) the only one of {@code storage.databases}.
   */
  private static void requestLogStorage(JsonObject raw, Problems problems) {
    if (!(raw.getValue("logging") instanceof JsonObject logging)
        || !(logging.getValue("request") instanceof JsonObject request)
        || !(request.getValue("storage") instanceof String s)) {
      return;
    }
    String at = "logging.request.storage";
    switch (s) {
      case "file" -> {
        request.remove("storage");
        JsonObject file = child(request, "file");
        if (file != null && file.getValue("path") == null) {
          file.put("path", RequestLogConfig.DEFAULT_FILE);
        }
        problems.warn(at, "\"file\" is deprecated, use logging.request.file.path"
            + (file == null ? "" : " (" + file.getValue("path") + ")"));
      }
      case "stdout" -> {
        request.remove("storage");
        request.put("stdout", true);
        problems.warn(at, "\"stdout\" is deprecated, use logging.request.stdout: true");
      }
      case "database" -> {
        JsonArray databases = raw.getValue("storage") instanceof JsonObject storage
            && storage.getValue("databases") instanceof JsonArray list ? list : new JsonArray();
        if (named(databases, s) == null && databases.size() == 1
            && databases.getValue(0) instanceof JsonObject only && only.getValue("name") != null) {
          String name = String.valueOf(only.getValue("name"));
          request.put("storage", name);
          problems.warn(at, "\"database\" is deprecated here, name the database: logging.request.storage: " + name);
        }
      }
      default -> {
        // a database's name: the reference layout
      }
    }
  }

  /** The mapping of {@code list} whose {@code name} is {@code name}, or null. */
  private static JsonObject named(JsonArray list, String name) {
    for (Object item : list) {
      if (item instanceof JsonObject o && name.equals(o.getValue("name"))) {
        return o;
      }
    }
    return null;
  }

  // ---- raw-tree helpers ----------------------------------------------------------------------

  /** The mapping at {@code key}, created when absent; null when something else is there (the reader reports it). */
  private static JsonObject child(JsonObject parent, String key) {
    Object v = parent.getValue(key);
    if (v == null) {
      JsonObject created = new JsonObject();
      parent.put(key, created);
      return created;
    }
    return v instanceof JsonObject o ? o : null;
  }

  private static void addToList(JsonObject raw, String section, String list, JsonObject item) {
    JsonObject parent = child(raw, section);
    if (parent == null) {
      return;
    }
    Object v = parent.getValue(list);
    JsonArray array = v instanceof JsonArray a ? a : new JsonArray();
    if (v == null) {
      parent.put(list, array);
    } else if (!(v instanceof JsonArray)) {
      return;
    }
    array.add(item);
  }

  private static void copy(JsonObject from, JsonObject to, String key) {
    if (from.getValue(key) != null) {
      to.put(key, from.getValue(key));
    }
  }
}
