package dev.llmproxy.auth.provider;

import dev.llmproxy.auth.Denial;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.LuaScriptException;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an auth script in either style of COMPAT.md and reads its answer.
 *
 * <ul>
 *   <li>Seed 003: globals {@code api_key}, {@code data}, {@code request} ({@code method, path, ip, headers, model});
 *       returns {@code {allow=, message=, metadata=}}, a boolean, or nothing (allow).</li>
 *   <li>Seed 001: {@code function process(ctx, data)} returning {@code {allowed=, error=, user_id=}} or
 *       {@code {skip=true}} (this provider does not decide: not found).</li>
 * </ul>
 * Other fields of a returned table ({@code user_id}, {@code name}, {@code metadata}, quotas...) are merged into
 * the record. A script that fails denies the key, and the failure is logged with the script's path and line.
 */
public final class AuthScript {

  private static final Logger LOG = LoggerFactory.getLogger(AuthScript.class);
  private static final Set<String> CONTROL = Set.of("allow", "allowed", "message", "error", "skip");

  private final LuaScript script;
  private final LuaSandbox sandbox;

  public AuthScript(LuaScript script, LuaSandbox sandbox) {
    this.script = script;
    this.sandbox = sandbox;
  }

  /** Applies the script to what a provider found ({@code record}; an empty one for a lua provider). */
  public Lookup apply(AuthCheck check, JsonObject record) {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("method", check.method());
    request.put("path", check.path());
    request.put("ip", check.clientIp());
    request.put("client_ip", check.clientIp());
    request.put("model", check.model());
    request.put("headers", check.headers());
    Map<String, Object> globals = new LinkedHashMap<>();
    globals.put("api_key", check.apiKey());
    globals.put("data", record);
    globals.put("request", request);
    Map<String, Object> ctx = new LinkedHashMap<>();
    ctx.put("api_key", check.apiKey());
    ctx.put("request", request);
    ctx.put("user_id", record.getValue("user_id"));
    Object result;
    try {
      result = sandbox.run(script, globals, "process", List.of(ctx, record));
    } catch (LuaScriptException e) {
      LOG.warn("auth script failed, key denied: {}", e.getMessage());
      return new Lookup.Denied(Denial.ACCESS_DENIED, null);
    }
    return interpret(result, record);
  }

  static Lookup interpret(Object result, JsonObject record) {
    if (result == null) {
      return Lookup.found(record);
    }
    if (result instanceof Boolean allow) {
      return allow ? Lookup.found(record) : new Lookup.Denied(Denial.ACCESS_DENIED, null);
    }
    if (!(result instanceof JsonObject answer)) {
      LOG.warn("auth script returned {} instead of a table or boolean, key denied", result.getClass().getSimpleName());
      return new Lookup.Denied(Denial.ACCESS_DENIED, null);
    }
    if (answer.getBoolean("skip", false)) {
      return Lookup.NOT_FOUND;
    }
    boolean allow = truthy(answer.getValue("allow", answer.getValue("allowed", true)));
    if (!allow) {
      Object message = answer.getValue("message", answer.getValue("error"));
      return new Lookup.Denied(Denial.ACCESS_DENIED, message == null ? null : String.valueOf(message));
    }
    JsonObject merged = record.copy();
    answer.forEach(e -> {
      if (CONTROL.contains(e.getKey())) {
        return;
      }
      if (e.getKey().equals("metadata") && e.getValue() instanceof JsonObject extra
          && merged.getValue("metadata") instanceof JsonObject existing) {
        merged.put("metadata", existing.copy().mergeIn(extra));
      } else {
        merged.put(e.getKey(), e.getValue());
      }
    });
    return Lookup.found(merged);
  }

  private static boolean truthy(Object value) {
    return value != null && !Boolean.FALSE.equals(value);
  }
}
