package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.LuaScriptException;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code routing.script}: a Lua script that sees the request and the eligible backends and may name the one
 * to use, or a list in order of preference; returning nothing leaves the choice to the strategy. Globals
 * {@code request} ({@code model, path, method, client_ip, user_id, headers}) and {@code backends} (each with
 * {@code name, url, weight, in_flight, models}); seed 001's style {@code function route(request, backends)}
 * works too. A failing script never fails the request: the strategy chooses, and the failure is logged.
 */
public final class RoutingScript {

  private static final Logger LOG = LoggerFactory.getLogger(RoutingScript.class);
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;

  private final LuaScript script;
  private final LuaSandbox sandbox = new LuaSandbox();
  private long lastLoggedNanos = -LOG_EVERY_NANOS;

  public RoutingScript(LuaScript script) {
    this.script = script;
  }

  Backend pick(List<Backend> eligible, Map<String, Object> request, BackendStatsRegistry stats) {
    List<Map<String, Object>> backends = new ArrayList<>(eligible.size());
    for (Backend backend : eligible) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("name", backend.name());
      entry.put("url", backend.url());
      entry.put("weight", backend.weight());
      entry.put("in_flight", stats.of(backend).inFlight());
      entry.put("models", backend.models());
      backends.add(entry);
    }
    Object answer;
    try {
      answer = sandbox.run(script, Map.of("request", request, "backends", backends), "route", List.of(request, backends));
    } catch (LuaScriptException e) {
      long now = System.nanoTime();
      if (now - lastLoggedNanos >= LOG_EVERY_NANOS) {
        lastLoggedNanos = now;
        LOG.warn("routing script failed, the strategy chooses instead: {}", e.getMessage());
      }
      return null;
    }
    if (answer instanceof JsonObject table && table.getValue("backend") != null) {
      answer = table.getValue("backend");
    }
    if (answer instanceof String named) {
      return find(eligible, named);
    }
    if (answer instanceof JsonArray preference) {
      for (Object named : preference) {
        Backend found = named instanceof String s ? find(eligible, s) : null;
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static Backend find(List<Backend> eligible, String nameOrUrl) {
    for (Backend backend : eligible) {
      if (backend.name().equals(nameOrUrl) || backend.url().equals(nameOrUrl)) {
        return backend;
      }
    }
    return null;
  }
}
