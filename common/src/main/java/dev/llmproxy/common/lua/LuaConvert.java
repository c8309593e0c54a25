package dev.llmproxy.common.lua;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.lib.TwoArgFunction;
import org.luaj.vm2.Varargs;

/**
 * Converts between Java/JSON values and Lua values. Inputs are charged against a byte allowance so that a
 * large request (headers, a provider's record) cannot make a script exceed its memory limit before it runs;
 * outputs are bounded in depth so that a self-referencing table cannot loop.
 */
final class LuaConvert {

  private static final int MAX_DEPTH = 32;

  private LuaConvert() {
  }

  /** An allowance of input bytes, shared by every value converted for one run. */
  static final class Allowance {
    private long left;

    Allowance(long bytes) {
      this.left = bytes;
    }

    void charge(long bytes) {
      left -= bytes;
      if (left < 0) {
        throw new LuaScriptException("script input too large for its memory limit", LuaScriptException.Reason.MEMORY);
      }
    }
  }

  static LuaValue toLua(Object value, Allowance allowance) {
    return toLua(value, allowance, 0);
  }

  private static LuaValue toLua(Object value, Allowance allowance, int depth) {
    if (depth > MAX_DEPTH) {
      throw new LuaScriptException("script input nested too deeply");
    }
    allowance.charge(16);
    if (value == null) {
      return LuaValue.NIL;
    }
    if (value instanceof LuaValue lua) {
      return lua;
    }
    if (value instanceof Boolean b) {
      return LuaValue.valueOf(b);
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      long l = ((Number) value).longValue();
      return l == (int) l ? LuaValue.valueOf((int) l) : LuaValue.valueOf((double) l);
    }
    if (value instanceof Number n) {
      return LuaValue.valueOf(n.doubleValue());
    }
    if (value instanceof CharSequence s) {
      allowance.charge(s.length() * 2L);
      return LuaValue.valueOf(s.toString());
    }
    if (value instanceof JsonObject json) {
      return toLua(json.getMap(), allowance, depth);
    }
    if (value instanceof JsonArray array) {
      return toLua(array.getList(), allowance, depth);
    }
    if (value instanceof Map<?, ?> map) {
      LuaTable table = new LuaTable();
      Map<LuaValue, LuaSandbox.Lazy> lazy = null;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        LuaValue key = toLua(String.valueOf(e.getKey()), allowance, depth + 1);
        if (e.getValue() instanceof LuaSandbox.Lazy later) {
          lazy = lazy == null ? new HashMap<>() : lazy;
          lazy.put(key, later);
          continue;
        }
        LuaValue v = toLua(e.getValue(), allowance, depth + 1);
        if (!v.isnil()) {
          table.set(key, v);
        }
      }
      if (lazy != null) {
        table.setmetatable(lazyIndex(lazy, allowance, depth));
      }
      return table;
    }
    if (value instanceof Iterable<?> list) {
      LuaTable table = new LuaTable();
      int i = 1;
      for (Object o : list) {
        table.set(i++, toLua(o, allowance, depth + 1));
      }
      return table;
    }
    String s = value.toString();
    allowance.charge(s.length() * 2L);
    return LuaValue.valueOf(s);
  }

  /**
   * The metatable of a table with lazy fields: a field is converted when the script first reads it, and then kept
   * in the table (so that a run's read-back sees only the fields the script read or wrote).
   */
  private static LuaTable lazyIndex(Map<LuaValue, LuaSandbox.Lazy> lazy, Allowance allowance, int depth) {
    LuaTable meta = new LuaTable();
    meta.rawset(LuaValue.INDEX, new TwoArgFunction() {
      @Override
      public LuaValue call(LuaValue table, LuaValue key) {
        LuaSandbox.Lazy later = lazy.remove(key);
        if (later == null) {
          return LuaValue.NIL;
        }
        LuaValue value = toLua(later.value(), allowance, depth + 1);
        table.rawset(key, value);
        return value;
      }
    });
    return meta;
  }

  /** The first value of a script's results as Java: null, Boolean, Long, Double, String, JsonObject, JsonArray. */
  static Object toJava(Varargs results) {
    return results.narg() == 0 ? null : toJava(results.arg1(), 0);
  }

  static Object toJava(LuaValue value, int depth) {
    if (depth > MAX_DEPTH) {
      throw new LuaScriptException("script result nested too deeply");
    }
    switch (value.type()) {
      case LuaValue.TNIL:
        return null;
      case LuaValue.TBOOLEAN:
        return value.toboolean();
      case LuaValue.TNUMBER:
        if (value.isinttype() || (value.todouble() == Math.rint(value.todouble())
            && Math.abs(value.todouble()) < 9.0e15)) {
          return (long) value.todouble();
        }
        return value.todouble();
      case LuaValue.TSTRING:
        return value.tojstring();
      case LuaValue.TTABLE:
        return tableToJava(value, depth);
      default:
        return value.tojstring(); // functions, userdata: their name only, never the object
    }
  }

  private static Object tableToJava(LuaValue table, int depth) {
    int length = table.length();
    Map<String, Object> map = new LinkedHashMap<>();
    boolean onlySequence = true;
    for (Varargs n = table.next(LuaValue.NIL); !n.arg1().isnil(); n = table.next(n.arg1())) {
      LuaValue key = n.arg1();
      if (!(key.isinttype() && key.toint() >= 1 && key.toint() <= length)) {
        onlySequence = false;
      }
      map.put(key.tojstring(), toJava(n.arg(2), depth + 1));
    }
    if (onlySequence && length > 0) {
      List<Object> list = new ArrayList<>(length);
      for (int i = 1; i <= length; i++) {
        list.add(toJava(table.get(i), depth + 1));
      }
      return new JsonArray(list);
    }
    return new JsonObject(map);
  }
}
