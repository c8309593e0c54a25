package dev.llmproxy.discovery.source;

import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.model.Backend;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the discovery verticle knows of one source: its last good list (kept through an outage), whether it is
 * failing now (so an outage is logged once, and its end once), and its error count
 * ({@code llmproxy_discovery_errors_total{source}}). A source's optional Lua {@code script} filters or rewrites
 * each list before it is kept. Lives on the verticle's event loop.
 */
public final class SourceFeed {

  private static final Logger LOG = LoggerFactory.getLogger(SourceFeed.class);

  private final String name;
  private final LuaScript script;
  private final LuaSandbox sandbox;
  private final Counter errors;
  private final Runnable onChange;
  private List<Backend> lastGood;
  private boolean failing;

  /**
   * @param script   null when the source has none
   * @param onChange called when the kept list changed
   */
  public SourceFeed(String name, LuaScript script, LuaSandbox sandbox, MeterRegistry meters, Runnable onChange) {
    this.name = name;
    this.script = script;
    this.sandbox = sandbox;
    this.onChange = onChange;
    this.errors = Counter.builder("llmproxy_discovery_errors")
        .description("Failed reads of a discovery source (its last good list stays in use)")
        .tag("source", name).register(meters);
  }

  public String name() {
    return name;
  }

  /** The last list read successfully; empty before the first success. */
  public List<Backend> backends() {
    return lastGood == null ? List.of() : lastGood;
  }

  /** True once the source has answered at least once. */
  public boolean answered() {
    return lastGood != null;
  }

  public boolean failing() {
    return failing;
  }

  /** A complete list just read from the source. */
  public void accept(List<Backend> backends) {
    List<Backend> list;
    try {
      list = script == null ? List.copyOf(backends) : applyScript(backends);
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    if (failing) {
      failing = false;
      LOG.info("discovery source {} answers again: {} backend(s)", name, list.size());
    }
    if (!list.equals(lastGood)) {
      lastGood = list;
      onChange.run();
    }
  }

  /** A read that failed: counted every time, logged once per outage; the last good list stays. */
  public void fail(Throwable failure) {
    errors.increment();
    if (!failing) {
      failing = true;
      LOG.warn("discovery source {} failed, keeping its last {} backend(s) and retrying: {}", name,
          backends().size(), failure.getMessage() == null ? failure.toString() : failure.getMessage());
    }
  }

  /**
   * The script sees {@code backends} (a list of backend tables as in a snapshot) and {@code source} (this source's
   * name) and returns the list to keep; returning nothing keeps the list as read. Seed 001's style,
   * {@code function process(ctx, data)}, gets {@code ctx = {source = ...}} and the list as {@code data}.
   */
  private List<Backend> applyScript(List<Backend> backends) {
    JsonArray input = new JsonArray();
    backends.forEach(b -> input.add(b.toJson()));
    Map<String, Object> globals = new LinkedHashMap<>();
    globals.put("backends", input);
    globals.put("source", name);
    Object result = sandbox.run(script, globals, "process", List.of(new JsonObject().put("source", name), input));
    if (result == null) {
      return List.copyOf(backends);
    }
    JsonArray list;
    if (result instanceof JsonArray array) {
      list = array;
    } else if (result instanceof JsonObject object && object.getValue("backends") instanceof JsonArray array) {
      list = array;
    } else if (result instanceof JsonObject object && object.isEmpty()) {
      list = new JsonArray(); // Lua cannot tell an empty list from an empty table
    } else {
      throw new IllegalStateException(script.name() + ": must return a list of backends, not " + result);
    }
    List<Backend> out = new ArrayList<>(list.size());
    for (Object entry : list) {
      if (!(entry instanceof JsonObject json)) {
        throw new IllegalStateException(script.name() + ": a backend must be a table, not " + entry);
      }
      // Lua has one table type: an empty list comes back as an empty object and the other way round
      if (json.getValue("models") instanceof JsonObject models && models.isEmpty()) {
        json.put("models", new JsonArray());
      }
      if (json.getValue("headers") instanceof JsonArray headers && headers.isEmpty()) {
        json.put("headers", new JsonObject());
      }
      Backend backend = Backend.fromJson(json);
      if (backend.url() == null || backend.url().isEmpty()) {
        throw new IllegalStateException(script.name() + ": a backend has no url");
      }
      out.add(backend.name() == null ? backend.withName(backend.url()) : backend);
    }
    return List.copyOf(out);
  }
}
