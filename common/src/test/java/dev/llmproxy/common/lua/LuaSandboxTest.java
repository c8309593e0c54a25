package dev.llmproxy.common.lua;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LuaSandboxTest {

  private final LuaSandbox sandbox = new LuaSandbox();

  private static LuaScript script(String source) {
    return LuaSandbox.compile("test.lua", source, Duration.ofMillis(200), 10);
  }

  private Object run(String source) {
    return sandbox.run(script(source), Map.of());
  }

  @Test
  void globalsStyleSeesInputsAndReturnsATable() {
    LuaScript s = script("""
        if tonumber(data.balance) <= 0 then return {allow = false, message = "no balance"} end
        return {allow = true, metadata = {user = data.user_id, ip = request.ip, key = api_key}}
        """);
    Object allowed = sandbox.run(s, Map.of("api_key", "sk-1", "data", Map.of("balance", "5", "user_id", "u1"),
        "request", Map.of("ip", "10.0.0.1")));
    assertEquals(new JsonObject().put("allow", true)
        .put("metadata", new JsonObject().put("user", "u1").put("ip", "10.0.0.1").put("key", "sk-1")), allowed);
    Object denied = sandbox.run(s, Map.of("api_key", "sk-1", "data", Map.of("balance", "0"), "request", Map.of()));
    assertEquals(new JsonObject().put("allow", false).put("message", "no balance"), denied);
  }

  @Test
  void processStyleIsCalledWhenTheChunkReturnsNothing() {
    LuaScript s = script("""
        function process(ctx, data)
          if data.status ~= "enabled" then return {allowed = false, error = "Key disabled"} end
          return {allowed = true, user_id = ctx.user_id}
        end
        """);
    Object result = sandbox.run(s, Map.of(), "process",
        List.of(Map.of("user_id", "vip_1"), Map.of("status", "disabled")));
    assertEquals(new JsonObject().put("allowed", false).put("error", "Key disabled"), result);
  }

  @Test
  void valuesConvertBothWays() {
    assertEquals(true, run("return true"));
    assertNull(run("return"));
    assertEquals(3L, run("return 1 + 2"));
    assertEquals(1.5, run("return 3 / 2"));
    assertEquals(new JsonArray().add(1L).add("a"), run("return {1, 'a'}"));
    assertEquals(new JsonObject().put("a", new JsonArray().add(true)), run("return {a = {true}}"));
  }

  @Test
  void helpersWork() {
    long now = (Long) run("return now()");
    assertTrue(Math.abs(now - System.currentTimeMillis() / 1000) <= 2);
    long nowMs = (Long) run("return now_ms()");
    assertTrue(Math.abs(nowMs - System.currentTimeMillis()) < 5000);
    assertEquals("{\"a\":1}", run("return json.encode({a = 1})"));
    assertEquals(7L, run("return json.decode('{\"x\":[7]}').x[1]"));
    assertNull(run("log('hello', 1) print('x')"));
    assertEquals("AB", run("return string.upper('ab')"));
    assertEquals(2L, run("return math.max(1, 2)"));
  }

  @Test
  void dangerousFunctionsAreAbsent() {
    for (String name : List.of("io", "os", "load", "loadfile", "dofile", "require", "package", "luajava",
        "coroutine", "debug", "collectgarbage", "loadstring", "module")) {
      assertNull(run("return " + name), name);
    }
    assertNull(run("return string.rep"));
    assertNull(run("return string.dump"));
    assertThrows(LuaScriptException.class, () -> run("return ('x'):rep(10)"));
  }

  @Test
  void librariesAreReadOnlyAndGlobalsDoNotLeakBetweenRuns() {
    assertThrows(LuaScriptException.class, () -> run("string.upper = nil"));
    assertThrows(LuaScriptException.class, () -> run("getmetatable('').__index.upper = nil"));
    assertThrows(LuaScriptException.class, () -> run("table.insert(math, 1)"));
    LuaScript s = script("local before = leaked; leaked = 'yes'; return before");
    assertNull(sandbox.run(s, Map.of()));
    assertNull(sandbox.run(s, Map.of()));
    assertEquals("AB", run("return ('ab'):upper()"));
  }

  @Test
  void errorsNameTheScriptAndLine() {
    LuaScriptException e = assertThrows(LuaScriptException.class, () -> run("local x = 1\nerror('boom')"));
    assertTrue(e.getMessage().contains("test.lua:2"), e.getMessage());
    assertTrue(e.getMessage().contains("boom"), e.getMessage());
    LuaScriptException syntax = assertThrows(LuaScriptException.class,
        () -> LuaSandbox.compile("bad.lua", "return {", Duration.ofSeconds(1), 10));
    assertTrue(syntax.getMessage().contains("bad.lua"), syntax.getMessage());
  }

  @Test
  void runawayLoopStopsWithinItsBudgetAndPcallCannotCatchIt() {
    for (String source : List.of("while true do end",
        "while true do pcall(function() while true do end end) end",
        "local function f() return f() end return f()")) {
      long start = System.nanoTime();
      LuaScriptException e = assertThrows(LuaScriptException.class, () -> run(source));
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertTrue(ms < 2000, source + " took " + ms + " ms");
      assertTrue(e.getMessage().contains("test.lua"), e.getMessage());
    }
    assertEquals(2L, run("return 1 + 1"), "the sandbox is usable after a runaway script");
  }

  @Test
  void memoryBombsAreStopped() {
    LuaScriptException e = assertThrows(LuaScriptException.class,
        () -> run("local s = 'xxxxxxxxxxxxxxxx' while true do s = s .. s end"));
    assertTrue(e.getMessage().contains("memory") || e.getMessage().contains("budget"), e.getMessage());
    assertThrows(LuaScriptException.class,
        () -> run("local s = 'xxxxxxxxxxxxxxxx' while true do s = string.format('%s%s', s, s) end"));
    assertThrows(LuaScriptException.class,
        () -> run("local t = {} local i = 0 while true do i = i + 1 t[i] = {i, i, i} end"));
  }

  @Test
  void oversizedInputsAreRejectedBeforeTheScriptRuns() {
    LuaScript s = LuaSandbox.compile("small.lua", "return #data", Duration.ofSeconds(1), 1);
    String big = "x".repeat(600_000);
    LuaScriptException e = assertThrows(LuaScriptException.class, () -> sandbox.run(s, Map.of("data", big)));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
    assertEquals(10L, sandbox.run(s, Map.of("data", "x".repeat(10))));
  }

  @Test
  void aHooksRunReadsBackWhatTheScriptTouchedAndLeavesUnreadLazyFieldsUnconverted() {
    java.util.concurrent.atomic.AtomicInteger converted = new java.util.concurrent.atomic.AtomicInteger();
    LuaSandbox.Lazy body = () -> {
      converted.incrementAndGet();
      return Map.of("max_tokens", 5);
    };
    Map<String, Object> request = new java.util.HashMap<>(Map.of("path", "/v1/x"));
    request.put("body", body);
    LuaSandbox.Result untouched = sandbox.runReading(script("return { continue = request.path == '/v1/x' }"),
        Map.of("request", request), "hook", List.of("request"));
    assertEquals(new JsonObject().put("continue", true), untouched.returned());
    assertEquals(new JsonObject().put("path", "/v1/x"), untouched.globals().get("request"));
    assertEquals(0, converted.get(), "a field the script never reads is never converted");

    LuaSandbox.Result edited = sandbox.runReading(script("request.body.max_tokens = request.body.max_tokens + 1"),
        Map.of("request", request), "hook", List.of("request"));
    assertEquals(new JsonObject().put("max_tokens", 6),
        ((JsonObject) edited.globals().get("request")).getJsonObject("body"));
  }

  @Test
  void hookHelpersAreThere() {
    assertTrue(((String) run("return generate_uuid()")).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
    assertEquals(new JsonObject().put("a", 1L), run("return json_decode(json_encode({a = 1}))"));
  }

  @Test
  void aRunPastItsTimeoutSaysSo() {
    LuaScriptException cut = assertThrows(LuaScriptException.class, () -> run("while true do end"));
    assertEquals(LuaScriptException.Reason.TIMEOUT, cut.reason());
  }
}
