package dev.llmproxy.proxy.metrics;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code model} label's value of a request. The model is whatever the client wrote, so without a bound a client
 * could create series without end: the first {@link #MAX_MODELS} distinct names are kept, later ones are counted
 * together as {@code other}; a request whose model was not read (a pass-through path, a malformed body) is
 * {@code none}.
 */
final class ModelLabels {

  static final int MAX_MODELS = 100;
  static final String NONE = "none";
  static final String OTHER = "other";

  private final Set<String> seen = ConcurrentHashMap.newKeySet();

  String label(String model) {
    if (model == null || model.isEmpty()) {
      return NONE;
    }
    if (seen.contains(model)) {
      return model;
    }
    // The bound may be passed by a few names when requests race here; it stays bounded all the same.
    if (seen.size() >= MAX_MODELS) {
      return OTHER;
    }
    seen.add(model);
    return model;
  }
}
