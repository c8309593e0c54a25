package dev.llmproxy.proxy;

import dev.llmproxy.common.config.FaultConfig;
import dev.llmproxy.common.config.FaultInjectionConfig;
import dev.llmproxy.common.model.Backend;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code fault_injection} as applied: the faults of one config, which a request's path and model select once
 * ({@link FaultStep}) and which each attempt on a backend rolls again ({@link #roll}), so that a retry or a fallback
 * meets the next backend's own faults, as it would meet its own failures.
 */
final class FaultInjector {

  /** What one attempt meets; {@link #NONE} when no fault fired. */
  record Roll(long delayMs, String delayedBy, int abortStatus, String abortedBy, int cutAfter,
      String cutBy) {

    static final Roll NONE = new Roll(0, null, 0, null, 0, null);
  }

  private final List<FaultConfig> faults;

  private FaultInjector(List<FaultConfig> faults) {
    this.faults = faults;
  }

  /** Null when nothing is injected under {@code config}: the fault step is then not in the chain at all. */
  static FaultInjector of(FaultInjectionConfig config) {
    return config.active() ? new FaultInjector(config.faults()) : null;
  }

  /** The faults that apply to a request on {@code path} for {@code model}; null when none. */
  List<FaultConfig> select(String path, String model) {
    List<FaultConfig> selected = null;
    for (FaultConfig fault : faults) {
      if ((fault.paths().isEmpty() || fault.paths().contains(path))
          && (fault.models().isEmpty() || model != null && fault.models().contains(model))) {
        if (selected == null) {
          selected = new ArrayList<>(2);
        }
        selected.add(fault);
      }
    }
    return selected;
  }

  /** Rolls the dice of {@code selected} for one attempt on {@code backend}; the first fault of each kind wins. */
  static Roll roll(List<FaultConfig> selected, Backend backend) {
    long delayMs = 0;
    String delayedBy = null;
    int abortStatus = 0;
    String abortedBy = null;
    int cutAfter = 0;
    String cutBy = null;
    ThreadLocalRandom dice = ThreadLocalRandom.current();
    for (FaultConfig fault : selected) {
      if (!fault.backends().isEmpty() && !fault.backends().contains(backend.name())) {
        continue;
      }
      String name = fault.name().isEmpty() ? "unnamed" : fault.name();
      if (delayedBy == null && fault.delay().on() && hits(dice, fault.delay().percentage())) {
        delayMs = fault.delay().fixed().toMillis();
        delayedBy = name;
      }
      if (abortedBy == null && fault.abort().on() && hits(dice, fault.abort().percentage())) {
        abortStatus = fault.abort().status();
        abortedBy = name;
      }
      if (cutBy == null && fault.streamCutAfter() > 0) {
        cutAfter = fault.streamCutAfter();
        cutBy = name;
      }
    }
    if (delayedBy == null && abortedBy == null && cutBy == null) {
      return Roll.NONE;
    }
    return new Roll(delayMs, delayedBy, abortStatus, abortedBy, cutAfter, cutBy);
  }

  private static boolean hits(ThreadLocalRandom dice, double percentage) {
    return percentage >= 100 || dice.nextDouble(100) < percentage;
  }
}
