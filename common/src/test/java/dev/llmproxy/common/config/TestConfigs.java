package dev.llmproxy.common.config;

import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Loads YAML through the real loader (vertx-config's YAML store), from files or inline text. */
final class TestConfigs {

  private static final Vertx VERTX = Vertx.vertx();

  private TestConfigs() {
  }

  static LoadedConfig loadFile(String path, Map<String, String> env) {
    try {
      return ConfigLoader.load(VERTX, path, env).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static LoadedConfig loadYaml(String yaml, Map<String, String> env) {
    try {
      Path file = Files.createTempFile("llmproxy-config", ".yaml");
      Files.writeString(file, yaml, StandardCharsets.UTF_8);
      try {
        return loadFile(file.toString(), env);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  static LoadedConfig loadYaml(String yaml) {
    return loadYaml(yaml, Map.of());
  }
}
