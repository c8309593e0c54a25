package dev.llmproxy.common.lua;

import org.luaj.vm2.Prototype;

/**
 * A script compiled once, with the limits it runs under. Immutable and free of interpreter state, so one
 * compiled script may be run by any {@link LuaSandbox} (each verticle instance has its own sandbox).
 *
 * @param name              where it came from (file path, or a name for inline source), used in error messages
 * @param instructionBudget Lua VM instructions one run may execute
 * @param timeoutNanos      wall-clock limit of one run, checked alongside the instruction count
 * @param maxMemoryBytes    bytes one run may allocate (inputs included)
 */
public record LuaScript(String name, Prototype prototype, long instructionBudget, long timeoutNanos,
    long maxMemoryBytes) {
}
