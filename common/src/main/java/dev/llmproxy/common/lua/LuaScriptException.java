package dev.llmproxy.common.lua;

/**
 * A script failed: it did not compile, raised an error, ran past its budget or its inputs were too large.
 * The message names the script and, where known, the line ({@code scripts/auth.lua:3: ...}).
 */
public final class LuaScriptException extends RuntimeException {

  public LuaScriptException(String message) {
    super(message, null, false, false);
  }

  public LuaScriptException(String message, Throwable cause) {
    super(message, cause, false, false);
  }
}
