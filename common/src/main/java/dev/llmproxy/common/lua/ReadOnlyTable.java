package dev.llmproxy.common.lua;

import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * A frozen copy of a library table ({@code string}, {@code math}, ...). Library tables are shared by every run
 * of a sandbox (and the string metatable by the whole JVM), so a script must not be able to replace
 * {@code string.format} for the scripts after it.
 */
final class ReadOnlyTable extends LuaTable {

  ReadOnlyTable(LuaValue table) {
    presize(table.length(), 0);
    for (Varargs n = table.next(LuaValue.NIL); !n.arg1().isnil(); n = table.next(n.arg1())) {
      LuaValue key = n.arg1();
      LuaValue value = n.arg(2);
      super.rawset(key, value.istable() && !(value instanceof ReadOnlyTable) ? new ReadOnlyTable(value) : value);
    }
  }

  @Override
  public LuaValue setmetatable(LuaValue metatable) {
    return error("table is read-only");
  }

  @Override
  public void set(int key, LuaValue value) {
    error("table is read-only");
  }

  @Override
  public void set(LuaValue key, LuaValue value) {
    error("table is read-only");
  }

  @Override
  public void rawset(int key, LuaValue value) {
    error("table is read-only");
  }

  @Override
  public void rawset(LuaValue key, LuaValue value) {
    error("table is read-only");
  }

  @Override
  public LuaValue remove(int pos) {
    return error("table is read-only");
  }
}
