package dev.llmproxy.common.lua;

/**
 * A script failed: it did not compile, raised an error, ran past its budget or its inputs were too large.
 * The message names the script and, where known, the line ({@code scripts/auth.lua:3: ...}).
 */
public final class LuaScriptException extends RuntimeException {

  /** Why a run was cut: the script's own error, or one of its limits. */
  public enum Reason {
    ERROR("error"), TIMEOUT("timeout"), MEMORY("memory");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    /** The value of a metric's {@code reason} label. */
    public String label() {
      return label;
    }
  }

  private final Reason reason;

  public LuaScriptException(String message) {
    this(message, Reason.ERROR);
  }

  public LuaScriptException(String message, Reason reason) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public LuaScriptException(String message, Throwable cause) {
    super(message, cause, false, false);
    this.reason = Reason.ERROR;
  }

  public Reason reason() {
    return reason;
  }
}
