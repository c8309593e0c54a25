package dev.llmproxy.usage;

import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.LuaScriptException;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reporter's {@code script}: sees the payload the reporter would send as the global {@code record} (also
 * {@code data}), or as the second argument of a global {@code process(ctx, data)} (seed 001's style, {@code ctx}
 * holding {@code reporter}). It returns {@code false} or {@code {skip = true}} to skip the record, a table to send
 * instead, or nothing / {@code true} to send it unchanged. A script that fails is logged and the record sent
 * unchanged: a broken filter must not stop billing.
 */
final class RecordScript {

  private static final Logger LOG = LoggerFactory.getLogger(RecordScript.class);

  private final String reporter;
  private final LuaScript script;
  private final LuaSandbox sandbox;

  RecordScript(String reporter, LuaScript script, LuaSandbox sandbox) {
    this.reporter = reporter;
    this.script = script;
    this.sandbox = sandbox;
  }

  /** @return the payload to send, or null to skip the record */
  JsonObject apply(JsonObject payload) {
    Object result;
    try {
      JsonObject ctx = new JsonObject().put("reporter", reporter);
      result = sandbox.run(script, Map.of("record", payload, "data", payload), "process", List.of(ctx, payload));
    } catch (LuaScriptException e) {
      LOG.warn("usage reporter {}: script failed, record {} sent unchanged: {}", reporter,
          payload.getString("request_id"), e.getMessage());
      return payload;
    }
    if (Boolean.FALSE.equals(result)) {
      return null;
    }
    if (result instanceof JsonObject reshaped) {
      return reshaped.getBoolean("skip", false) ? null : reshaped;
    }
    return payload;
  }
}
