package dev.llmproxy.common.config;

import java.util.ArrayList;
import java.util.List;

/** Errors and warnings found while loading, each prefixed with the config path it concerns. */
final class Problems {

  private final List<String> errors = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();

  void error(String path, String message) {
    errors.add(path + ": " + message);
  }

  void warn(String path, String message) {
    warnings.add(path + ": " + message);
  }

  List<String> errors() {
    return List.copyOf(errors);
  }

  List<String> warnings() {
    return List.copyOf(warnings);
  }

  boolean hasErrors() {
    return !errors.isEmpty();
  }
}
