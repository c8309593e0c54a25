package dev.llmproxy.common.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/**
 * Turns a YAML file into a validated {@link GatewayConfig}: environment substitution, deprecated
 * fields, {@code LLMPROXY_*} overrides, reading, validation. Problems are returned, not logged, so
 * that start-up and hot reload can each decide what to do with them.
 */
public final class ConfigLoader {

  private ConfigLoader() {
  }

  /** Reads {@code path} with vertx-config's YAML file store and the process environment. Never fails. */
  public static Future<LoadedConfig> load(Vertx vertx, String path) {
    return load(vertx, path, System.getenv());
  }

  /** As {@link #load(Vertx, String)} with the given environment instead of the process's. */
  public static Future<LoadedConfig> load(Vertx vertx, String path, Map<String, String> env) {
    ConfigStoreOptions store = new ConfigStoreOptions()
        .setType("file")
        .setFormat("yaml")
        .setConfig(new JsonObject().put("path", path));
    ConfigRetriever retriever = ConfigRetriever.create(vertx,
        new ConfigRetrieverOptions().addStore(store).setScanPeriod(-1).setIncludeDefaultStores(false));
    return retriever.getConfig()
        .map(raw -> parse(raw, env))
        .recover(e -> Future.succeededFuture(new LoadedConfig(null, List.of(),
            List.of(path + ": cannot read config (" + e.getMessage() + ")"))))
        .andThen(done -> retriever.close());
  }

  /** Pure: the raw document as YAML gave it, and the environment to substitute and override from. */
  public static LoadedConfig parse(JsonObject raw, Map<String, String> env) {
    Problems problems = new Problems();
    JsonObject tree = EnvSubstitution.apply(raw == null ? new JsonObject() : raw, env, problems);
    DeprecatedFields.apply(tree, problems);
    EnvOverrides.apply(tree, env, problems);
    return readAndValidate(tree, problems);
  }

  /** The canonical form as written by {@link GatewayConfig#toJson()}: only read and validated. */
  static LoadedConfig readCanonical(JsonObject canonical) {
    return readAndValidate(canonical, new Problems());
  }

  private static LoadedConfig readAndValidate(JsonObject tree, Problems problems) {
    GatewayConfig config = ConfigReader.readRoot(tree, problems, GatewayConfig::read);
    ConfigValidator.validate(config, problems);
    return new LoadedConfig(problems.hasErrors() ? null : config, problems.warnings(), problems.errors());
  }
}
