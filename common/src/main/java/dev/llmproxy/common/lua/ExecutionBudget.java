package dev.llmproxy.common.lua;

import java.lang.management.ManagementFactory;
import java.util.ArrayDeque;
import java.util.Deque;
import org.luaj.vm2.Lua;
import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaFunction;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.DebugLib;

/**
 * The interpreter's debug hook, used as a meter: LuaJ calls {@link #onInstruction} before every VM instruction
 * of any closure whose globals carry this object. It counts instructions, looks at the clock every
 * {@value #CLOCK_EVERY} instructions, and at the bytes the thread has allocated before each instruction that
 * can allocate in bulk (concatenation, calls into library functions, table construction).
 *
 * <p>Exceeding a limit throws {@link Exceeded}, a {@link Error} rather than a {@code LuaError}, so that
 * {@code pcall} inside the script cannot swallow it. Not thread-safe: one per sandbox, and a sandbox belongs
 * to one event loop.
 */
final class ExecutionBudget extends DebugLib {

  private static final int CLOCK_EVERY = 1024;
  private static final com.sun.management.ThreadMXBean THREADS = threadMxBean();

  /** The closures running now, innermost last: the current prototype gives the opcode and line. */
  private final Deque<Prototype> frames = new ArrayDeque<>();
  private LuaScript script;
  private long instructionsLeft;
  private long deadline;
  private long allocationStart;
  private long maxAllocation;
  private long threadId;

  /** Arms the meter for one run of {@code script}. */
  void start(LuaScript script) {
    this.script = script;
    this.instructionsLeft = script.instructionBudget();
    this.deadline = System.nanoTime() + script.timeoutNanos();
    this.maxAllocation = script.maxMemoryBytes();
    this.threadId = Thread.currentThread().getId();
    this.allocationStart = allocatedBytes();
    frames.clear();
  }

  void stop() {
    script = null;
    frames.clear();
  }

  /** Bytes allocated by this run so far; inputs converted after {@link #start} count too. */
  void checkMemory() {
    if (THREADS != null && allocatedBytes() - allocationStart > maxAllocation) {
      throw new Exceeded("memory limit of " + (maxAllocation >> 20) + " MB exceeded",
          LuaScriptException.Reason.MEMORY);
    }
  }

  @Override
  public void onCall(LuaFunction f) {
    frames.addLast(NATIVE);
  }

  @Override
  public void onCall(LuaClosure c, Varargs varargs, org.luaj.vm2.LuaValue[] stack) {
    frames.addLast(c.p);
  }

  @Override
  public void onReturn() {
    frames.pollLast();
  }

  /** LuaJ appends this to error messages; the sandbox reports only the first line (script and line). */
  @Override
  public String traceback(int level) {
    return "";
  }

  @Override
  public void onInstruction(int pc, Varargs v, int top) {
    if (script == null) {
      return; // code running outside a metered run (compilation, library set-up)
    }
    if (--instructionsLeft < 0) {
      throw new Exceeded("instruction budget of " + script.instructionBudget() + " exhausted at " + where(pc),
          LuaScriptException.Reason.TIMEOUT);
    }
    if ((instructionsLeft & (CLOCK_EVERY - 1)) == 0) {
      if (System.nanoTime() - deadline > 0) {
        throw new Exceeded("timeout of " + (script.timeoutNanos() / 1_000_000) + " ms exceeded at " + where(pc),
            LuaScriptException.Reason.TIMEOUT);
      }
      checkMemory();
      return;
    }
    Prototype p = frames.peekLast();
    if (p != null && p != NATIVE && pc >= 0 && pc < p.code.length) {
      switch (Lua.GET_OPCODE(p.code[pc])) {
        case Lua.OP_CONCAT, Lua.OP_CALL, Lua.OP_TAILCALL, Lua.OP_NEWTABLE, Lua.OP_SETLIST -> checkMemory();
        default -> {
        }
      }
    }
  }

  private String where(int pc) {
    Prototype p = frames.peekLast();
    if (p == null || p == NATIVE || p.lineinfo == null || pc < 0 || pc >= p.lineinfo.length) {
      return script.name();
    }
    return script.name() + ":" + p.lineinfo[pc];
  }

  private long allocatedBytes() {
    return THREADS == null ? 0 : THREADS.getThreadAllocatedBytes(threadId);
  }

  private static com.sun.management.ThreadMXBean threadMxBean() {
    try {
      if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean bean
          && bean.isThreadAllocatedMemorySupported()) {
        bean.setThreadAllocatedMemoryEnabled(true);
        return bean;
      }
    } catch (RuntimeException | LinkageError e) {
      // no allocation metering on this JVM: the instruction budget and input caps still hold
    }
    return null;
  }

  /** Marks a frame of a Java function (pcall) in {@link #frames}. */
  private static final Prototype NATIVE = new Prototype();

  /** A limit was hit. An Error so that the script's own pcall cannot catch it. */
  static final class Exceeded extends Error {
    final LuaScriptException.Reason reason;

    Exceeded(String message, LuaScriptException.Reason reason) {
      super(message, null, false, false);
      this.reason = reason;
    }
  }
}
