package dev.llmproxy.proxy.limit;

import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.LuaScriptException;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code rate_limit.script}: a Lua script that sees the request and the limits that would apply to its key, and
 * may skip every limit or change the key's numbers. The contract (also in {@code conf/config-reference.yaml}):
 * <ul>
 *   <li>globals {@code request} ({@code key_id, key_name, user_id, metadata, model, path, method}) and
 *       {@code limits} ({@code requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent,
 *       burst_size}); a global {@code function rate_limit(request, limits)} works too</li>
 *   <li>returns nothing or {@code true}: the configured limits apply</li>
 *   <li>returns {@code false} or {@code {skip = true}}: no limit at all for this request (VIP keys)</li>
 *   <li>returns a table of some of the {@code limits} fields: those numbers replace the key's for this request
 *       (0 = no such limit); with {@code bucket = "name"} the request is counted in its own counters
 *       (the key's id plus that name, or the name alone for requests without a key), so that a per-model or
 *       per-path limit does not share the key's counts</li>
 * </ul>
 * The script runs in the sandbox on the event loop under its instruction budget. A script that fails leaves the
 * configured limits in place and is logged at most every 10 s.
 */
public final class RateLimitScript {

  private static final Logger LOG = LoggerFactory.getLogger(RateLimitScript.class);
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;

  /** @param limits null to keep the key's numbers; @param bucket null to count in the key's own counters */
  record Verdict(boolean skip, Limits limits, String bucket) {
  }

  private static final Verdict AS_CONFIGURED = new Verdict(false, null, null);
  private static final Verdict SKIP = new Verdict(true, null, null);

  private final LuaScript script;
  private final LuaSandbox sandbox = new LuaSandbox();
  private long lastLoggedNanos = -LOG_EVERY_NANOS;

  public RateLimitScript(LuaScript script) {
    this.script = script;
  }

  Verdict decide(LimitRequest request, Limits current) {
    Map<String, Object> view = new HashMap<>();
    view.put("key_id", request.keyId());
    view.put("key_name", request.keyName());
    view.put("user_id", request.userId());
    view.put("metadata", request.metadata() == null ? new JsonObject() : request.metadata());
    view.put("model", request.model());
    view.put("path", request.path());
    view.put("method", request.method());
    Map<String, Object> limits = new HashMap<>();
    limits.put("requests_per_second", current.perSecond());
    limits.put("requests_per_minute", current.perMinute());
    limits.put("tokens_per_minute", current.tokensPerMinute());
    limits.put("max_concurrent", current.maxConcurrent());
    limits.put("burst_size", current.burst());
    Object answer;
    try {
      answer = sandbox.run(script, Map.of("request", view, "limits", limits), "rate_limit", List.of(view, limits));
    } catch (LuaScriptException e) {
      long now = System.nanoTime();
      if (now - lastLoggedNanos >= LOG_EVERY_NANOS) {
        lastLoggedNanos = now;
        LOG.warn("rate_limit.script failed, the configured limits apply: {}", e.getMessage());
      }
      return AS_CONFIGURED;
    }
    if (Boolean.FALSE.equals(answer)) {
      return SKIP;
    }
    if (!(answer instanceof JsonObject table)) {
      return AS_CONFIGURED;
    }
    if (Boolean.TRUE.equals(table.getValue("skip"))) {
      return SKIP;
    }
    boolean changes = false;
    for (String field : limits.keySet()) {
      changes |= table.getValue(field) instanceof Number;
    }
    Limits changed = !changes ? null : new Limits(
        (int) Math.min(Integer.MAX_VALUE, number(table, "requests_per_second", current.perSecond())),
        (int) Math.min(Integer.MAX_VALUE, number(table, "burst_size", current.burst())),
        number(table, "requests_per_minute", current.perMinute()),
        number(table, "tokens_per_minute", current.tokensPerMinute()),
        (int) Math.min(Integer.MAX_VALUE, number(table, "max_concurrent", current.maxConcurrent())));
    Object bucket = table.getValue("bucket");
    return new Verdict(false, changed, bucket == null ? null : bucket.toString());
  }

  private static long number(JsonObject table, String field, long orElse) {
    Object value = table.getValue(field);
    return value instanceof Number number ? Math.max(0, number.longValue()) : orElse;
  }
}
