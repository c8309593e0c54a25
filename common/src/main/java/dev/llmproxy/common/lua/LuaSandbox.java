package dev.llmproxy.common.lua;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import java.io.IOException;
import java.io.StringReader;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LoadState;
import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaFunction;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.compiler.LuaC;
import org.luaj.vm2.lib.BaseLib;
import org.luaj.vm2.lib.Bit32Lib;
import org.luaj.vm2.lib.OneArgFunction;
import org.luaj.vm2.lib.PackageLib;
import org.luaj.vm2.lib.StringLib;
import org.luaj.vm2.lib.TableLib;
import org.luaj.vm2.lib.VarArgFunction;
import org.luaj.vm2.lib.ZeroArgFunction;
import org.luaj.vm2.lib.jse.JseMathLib;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs user Lua scripts (LuaJ 3.0.1) on the calling thread, safely enough for an event loop.
 *
 * <ul>
 *   <li>One sandbox per verticle instance: LuaJ globals are not thread-safe. Scripts are compiled once
 *       ({@link #compile}) and shared; a sandbox only runs them.</li>
 *   <li>Only pure libraries: base functions without {@code load/loadfile/dofile/collectgarbage}, {@code string}
 *       without {@code rep/dump}, {@code table}, {@code math}, {@code bit32}. No {@code io}, {@code os},
 *       {@code require/package}, {@code luajava}, {@code coroutine}, {@code debug}. Library tables are read-only.</li>
 *   <li>Each run gets fresh globals, so nothing a script sets leaks into the next request.</li>
 *   <li>A run is metered ({@link ExecutionBudget}): an instruction budget derived from the script's timeout, the
 *       timeout itself on the clock, and its allocation against {@code max_memory}; inputs are charged first.</li>
 *   <li>Helpers: {@code now()} (unix seconds), {@code now_ms()}, {@code log(msg)} (and {@code print}),
 *       {@code json.encode(v)}, {@code json.decode(s)} (also as {@code json_encode}, {@code json_decode}),
 *       {@code generate_uuid()}.</li>
 * </ul>
 */
public final class LuaSandbox {

  /** Instructions allowed per millisecond of timeout: well under what LuaJ executes, so the count trips first. */
  static final long INSTRUCTIONS_PER_MS = 20_000;
  private static final long MIN_INSTRUCTIONS = 100_000;
  private static final int MAX_LOG_CHARS = 2000;
  private static final Logger LOG = LoggerFactory.getLogger("llmproxy.lua");
  /** Lua 5.2's reserved words and tokens, from 257 on: LuaJ names a token it did not expect by its number. */
  private static final List<String> TOKENS = List.of("and", "break", "do", "else", "elseif", "end", "false", "for",
      "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
      "while", "..", "...", "==", ">=", "<=", "~=", "::", "<eof>", "<number>", "<name>", "<string>");
  private static final Pattern TOKEN_NUMBER = Pattern.compile(" (2[5-9]\\d) \\(.\\)");

  private static final Globals COMPILER;
  private static final LuaTable STRING;
  private static final LuaTable TABLE;
  private static final LuaTable MATH;
  private static final LuaTable BIT32;

  static {
    // Pure libraries are built once and frozen: their functions keep no state, so every sandbox shares them.
    Globals shared = new Globals();
    shared.load(new BaseLib());
    shared.load(new PackageLib());
    shared.load(new Bit32Lib());
    shared.load(new TableLib());
    shared.load(new StringLib());
    shared.load(new JseMathLib());
    LoadState.install(shared);
    LuaC.install(shared);
    LuaValue string = shared.get("string");
    string.set("rep", LuaValue.NIL);
    string.set("dump", LuaValue.NIL);
    STRING = new ReadOnlyTable(string);
    TABLE = new ReadOnlyTable(shared.get("table"));
    MATH = new ReadOnlyTable(shared.get("math"));
    BIT32 = new ReadOnlyTable(shared.get("bit32"));
    // ("x"):rep(...) goes through the string metatable, which LuaJ keeps in one static for the whole JVM.
    LuaString.s_metatable = new ReadOnlyTable(LuaValue.tableOf(new LuaValue[] {LuaValue.INDEX, STRING}));
    COMPILER = shared;
  }

  private final ExecutionBudget budget = new ExecutionBudget();
  private final Globals base = new Globals();
  private final LuaTable baseMeta;
  private LuaScript current;
  /** What {@code log} lines of the current run are tagged with, instead of the script's name (a hook's request id). */
  private String logTag;

  public LuaSandbox() {
    base.load(new BaseLib());
    base.debuglib = budget;
    for (String name : List.of("load", "loadfile", "dofile", "collectgarbage", "require", "module", "loadstring")) {
      base.set(name, LuaValue.NIL);
    }
    base.set("string", STRING);
    base.set("table", TABLE);
    base.set("math", MATH);
    base.set("bit32", BIT32);
    base.set("now", new ZeroArgFunction() {
      @Override
      public LuaValue call() {
        return LuaValue.valueOf((double) (System.currentTimeMillis() / 1000));
      }
    });
    base.set("now_ms", new ZeroArgFunction() {
      @Override
      public LuaValue call() {
        return LuaValue.valueOf((double) System.currentTimeMillis());
      }
    });
    LuaFunction log = new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        StringBuilder line = new StringBuilder();
        for (int i = 1; i <= args.narg() && line.length() < MAX_LOG_CHARS; i++) {
          line.append(i > 1 ? " " : "").append(args.arg(i).tojstring());
        }
        String text = line.length() > MAX_LOG_CHARS ? line.substring(0, MAX_LOG_CHARS) + "..." : line.toString();
        LOG.info("[{}] {}", current == null ? "lua" : logTag != null ? logTag : current.name(), text);
        return LuaValue.NONE;
      }
    };
    base.set("log", log);
    base.set("print", log);
    LuaTable json = new LuaTable();
    json.set("encode", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue value) {
        budget.checkMemory();
        return LuaValue.valueOf(Json.encode(LuaConvert.toJava(value, 0)));
      }
    });
    json.set("decode", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue text) {
        try {
          Object decoded = Json.decodeValue(text.checkjstring());
          return LuaConvert.toLua(decoded, new LuaConvert.Allowance(current.maxMemoryBytes()));
        } catch (DecodeException e) {
          throw new LuaError("json.decode: invalid JSON");
        }
      }
    });
    base.set("json", new ReadOnlyTable(json));
    base.set("json_encode", json.get("encode"));
    base.set("json_decode", json.get("decode"));
    base.set("generate_uuid", new ZeroArgFunction() {
      @Override
      public LuaValue call() {
        return LuaValue.valueOf(UUID.randomUUID().toString());
      }
    });
    baseMeta = LuaValue.tableOf(new LuaValue[] {LuaValue.INDEX, base});
  }

  /**
   * Compiles once; the result can be run by any sandbox.
   *
   * @param name        the file path or a name for inline source, used in every error message about the script
   * @param timeout     wall-clock limit of one run; the instruction budget is derived from it
   * @param maxMemoryMb bytes one run may allocate, in MB (inputs included)
   * @throws LuaScriptException when the source does not compile
   */
  public static LuaScript compile(String name, String source, Duration timeout, int maxMemoryMb) {
    long timeoutMs = Math.max(1, timeout == null ? 1000 : timeout.toMillis());
    long memory = Math.max(1, maxMemoryMb) * 1024L * 1024L;
    Prototype prototype;
    synchronized (COMPILER) {
      try {
        prototype = COMPILER.compilePrototype(new StringReader(source), name);
      } catch (LuaError | IOException e) {
        throw new LuaScriptException(syntaxError(name, firstLine(e.getMessage())), e);
      } catch (RuntimeException | StackOverflowError e) {
        // LuaJ's compiler fails on some inputs with its own defects; the user learns only that it does not compile.
        throw new LuaScriptException(name + ": does not compile");
      }
    }
    return new LuaScript(name, prototype, Math.max(MIN_INSTRUCTIONS, timeoutMs * INSTRUCTIONS_PER_MS),
        timeoutMs * 1_000_000L, memory);
  }

  /**
   * Runs a script under its limits. The chunk runs with {@code globals} set (the style of seed 003:
   * {@code api_key}, {@code data}, {@code request}); when it returns nothing and defines a global function
   * {@code entryFunction}, that function is called with {@code entryArgs} (seed 001's {@code process(ctx, data)}).
   *
   * @return the first value returned, as Java: null, Boolean, Long, Double, String, JsonObject or JsonArray
   * @throws LuaScriptException on any error, budget or memory overrun, with the script's name and line
   */
  public Object run(LuaScript script, Map<String, ?> globals, String entryFunction, List<?> entryArgs) {
    return execute(script, globals, entryFunction, entryArgs, null, null).returned();
  }

  /**
   * A field of a table given to a script that is converted only if the script reads it (a hook's request body):
   * reading it back after the run tells whether the script touched it. {@link #value()} runs on the script's thread.
   */
  public interface Lazy {
    Object value();
  }

  /**
   * What a run left: its first returned value, and the globals it was asked to read back as the script left them
   * (a lifecycle hook edits {@code request.headers} in place), all as Java like {@link #run}'s result.
   */
  public record Result(Object returned, Map<String, Object> globals) {
  }

  /**
   * Runs a lifecycle hook: as {@link #run(LuaScript, Map)}, with its {@code log} lines tagged {@code logTag}, and
   * the globals named in {@code readBack} read back after the run.
   */
  public Result runReading(LuaScript script, Map<String, ?> globals, String logTag, List<String> readBack) {
    return execute(script, globals, null, List.of(), logTag, readBack);
  }

  private Result execute(LuaScript script, Map<String, ?> globals, String entryFunction, List<?> entryArgs,
      String tag, List<String> readBack) {
    if (current != null) {
      throw new LuaScriptException(script.name() + ": a sandbox runs one script at a time");
    }
    current = script;
    logTag = tag;
    budget.start(script);
    try {
      LuaConvert.Allowance allowance = new LuaConvert.Allowance(script.maxMemoryBytes() / 2);
      Globals env = new Globals();
      env.debuglib = budget;
      env.setmetatable(baseMeta);
      env.rawset("_G", env);
      globals.forEach((name, value) -> env.rawset(name, LuaConvert.toLua(value, allowance)));
      Varargs results = new LuaClosure(script.prototype(), env).invoke(LuaValue.NONE);
      if ((results.narg() == 0 || results.arg1().isnil()) && entryFunction != null) {
        LuaValue entry = env.rawget(entryFunction);
        if (entry.isfunction()) {
          LuaValue[] args = new LuaValue[entryArgs == null ? 0 : entryArgs.size()];
          for (int i = 0; i < args.length; i++) {
            args[i] = LuaConvert.toLua(entryArgs.get(i), allowance);
          }
          results = entry.invoke(LuaValue.varargsOf(args));
        }
      }
      Object returned = LuaConvert.toJava(results);
      if (readBack == null || readBack.isEmpty()) {
        return new Result(returned, Map.of());
      }
      Map<String, Object> after = new HashMap<>();
      for (String name : readBack) {
        after.put(name, LuaConvert.toJava(env.rawget(name), 0));
      }
      return new Result(returned, after);
    } catch (ExecutionBudget.Exceeded e) {
      throw new LuaScriptException(script.name() + ": " + e.getMessage(), e.reason);
    } catch (LuaError e) {
      throw new LuaScriptException(withName(script, firstLine(e.getMessage())), e);
    } catch (StackOverflowError e) {
      throw new LuaScriptException(script.name() + ": stack overflow");
    } catch (LuaScriptException e) {
      throw new LuaScriptException(withName(script, e.getMessage()), e.reason());
    } finally {
      budget.stop();
      current = null;
      logTag = null;
    }
  }

  /** {@link #run(LuaScript, Map, String, List)} without an entry function: the chunk's return value. */
  public Object run(LuaScript script, Map<String, ?> globals) {
    return run(script, globals, null, List.of());
  }

  /**
   * {@code value} as a script that left it untouched returns it: what a hook's answer is compared with to tell
   * whether the script changed it (a Lua table cannot tell an empty array from an empty object).
   */
  public static Object asReturned(Object value) {
    return LuaConvert.toJava(LuaConvert.toLua(value, new LuaConvert.Allowance(Long.MAX_VALUE)), 0);
  }

  private static String withName(LuaScript script, String message) {
    return message != null && message.startsWith(script.name()) ? message : script.name() + ": " + message;
  }

  /**
   * {@code name:line: message} for a syntax error: LuaJ writes {@code [string "name"]:line: ...} and names tokens
   * by number ({@code unexpected symbol 267 (x)}); the user gets the file, the line and the token as written.
   */
  static String syntaxError(String name, String message) {
    String out = message;
    String prefix = "[string \"";
    int end = out.indexOf("\"]:");
    if (out.startsWith(prefix) && end > 0) {
      out = name + out.substring(end + 2);
    } else if (!out.startsWith(name)) {
      out = name + ": " + out;
    }
    Matcher token = TOKEN_NUMBER.matcher(out);
    StringBuilder readable = new StringBuilder();
    while (token.find()) {
      int index = Integer.parseInt(token.group(1)) - 257;
      String replacement = index >= 0 && index < TOKENS.size() ? " near '" + TOKENS.get(index) + "'" : token.group();
      token.appendReplacement(readable, Matcher.quoteReplacement(replacement));
    }
    token.appendTail(readable);
    return readable.toString();
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "error";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
