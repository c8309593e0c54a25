package dev.llmproxy.common.lua;

import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;

/**
 * The {@code script:} of {@code logging.access} and {@code logging.request}: decides whether one record is written.
 * The script sees the record as the global {@code entry} and the request as {@code request} ({@code method, path,
 * client_ip, ...}); seed 001's style {@code function process(ctx, log)} gets {@code ctx.request} and the record.
 * Returning {@code false}, or a table with {@code skip = true}, drops the record; anything else (nothing, true,
 * {@code {skip = false}}) keeps it. A script that fails keeps the record: a broken filter must not lose logs.
 * One instance per verticle instance (a {@link LuaSandbox} runs on one thread).
 */
public final class LogFilter {

  private static final Logger LOG = LoggerFactory.getLogger(LogFilter.class);
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;

  private final LuaScript script;
  private final String owner;
  private final LuaSandbox sandbox = new LuaSandbox();
  private long lastLoggedNanos = -LOG_EVERY_NANOS;

  /** @param owner the config path of the script block, for the warning when it fails ({@code logging.access.script}) */
  public LogFilter(LuaScript script, String owner) {
    this.script = script;
    this.owner = owner;
  }

  /** True when the record is to be written. */
  public boolean keep(Map<String, Object> entry, Map<String, Object> request) {
    Object answer;
    try {
      answer = sandbox.run(script, Map.of("entry", entry, "request", request), "process",
          List.of(Map.of("request", request), entry));
    } catch (LuaScriptException e) {
      long now = System.nanoTime();
      if (now - lastLoggedNanos >= LOG_EVERY_NANOS) {
        lastLoggedNanos = now;
        LOG.warn("{} failed, the record is kept: {}", owner, e.getMessage());
      }
      return true;
    }
    if (answer instanceof Boolean keep) {
      return keep;
    }
    return !(answer instanceof JsonObject table && Boolean.TRUE.equals(table.getValue("skip")));
  }
}
