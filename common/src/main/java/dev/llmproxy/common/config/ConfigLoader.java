package dev.llmproxy.common.config;

import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.util.FileErrors;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a YAML file into a validated {@link GatewayConfig}: environment substitution, deprecated
 * fields, {@code LLMPROXY_*} overrides, reading, validation, and the Lua scripts it makes the gateway load
 * compiled. Problems are returned, not logged, so that start-up, {@code validate} and hot reload can each decide what
 * to do with them; each is a {@code path: message} line without any Java exception text.
 */
public final class ConfigLoader {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
  /** The root's name in problems that concern the whole document, when it is not a file ({@link #parse}). */
  private static final String DOCUMENT = "config";

  private ConfigLoader() {
  }

  /**
   * Reads {@code path} with vertx-config's YAML file store and the process environment (plus the {@code .env} files,
   * see {@link DotEnv}). Never fails.
   */
  public static Future<LoadedConfig> load(Vertx vertx, String path) {
    return load(vertx, path, System.getenv());
  }

  /** As {@link #load(Vertx, String)} with the given environment instead of the process's; {@code .env} adds to it. */
  public static Future<LoadedConfig> load(Vertx vertx, String path, Map<String, String> env) {
    // A file YAML would refuse for its size is refused before it is read and parsed (seconds of work for nothing).
    return vertx.fileSystem().props(path)
        .map(props -> props.size() > ConfigFileProblem.MAX_BYTES)
        .otherwise(false)
        .compose(tooLarge -> tooLarge
            ? Future.succeededFuture(new LoadedConfig(null, List.of(), List.of(path + ": " + ConfigFileProblem.TOO_LARGE)))
            : withDotEnv(vertx, path, env));
  }

  /** The file read with {@code env} and what the {@code .env} files add to it ({@link DotEnv}); their warnings kept. */
  private static Future<LoadedConfig> withDotEnv(Vertx vertx, String path, Map<String, String> env) {
    List<String> dotEnvWarnings = new ArrayList<>();
    return DotEnv.merged(vertx, path, env, dotEnvWarnings)
        .compose(merged -> readFile(vertx, path, merged))
        .map(loaded -> dotEnvWarnings.isEmpty() ? loaded : new LoadedConfig(loaded.config(),
            concat(dotEnvWarnings, loaded.warnings()), loaded.errors()));
  }

  private static List<String> concat(List<String> first, List<String> second) {
    List<String> out = new ArrayList<>(first);
    out.addAll(second);
    return out;
  }

  private static Future<LoadedConfig> readFile(Vertx vertx, String path, Map<String, String> env) {
    return vertx.fileSystem().readFile(path)
        .transform(read -> read.succeeded()
            ? vertx.executeBlocking(() -> ConfigFileProblem.longLine(read.result().getBytes()))
            : Future.succeededFuture("cannot read config (" + FileErrors.describe(read.cause()) + ")"))
        .compose(problem -> problem == null ? parseFile(vertx, path, env)
            : Future.succeededFuture(new LoadedConfig(null, List.of(), List.of(path + ": " + problem))));
  }

  private static Future<LoadedConfig> parseFile(Vertx vertx, String path, Map<String, String> env) {
    ConfigStoreOptions store = new ConfigStoreOptions()
        .setType("file")
        .setFormat("yaml")
        .setConfig(new JsonObject().put("path", path));
    ConfigRetriever retriever = ConfigRetriever.create(vertx,
        new ConfigRetrieverOptions().addStore(store).setScanPeriod(-1).setIncludeDefaultStores(false));
    return retriever.getConfig()
        .transform(read -> orFileProblem(vertx, path, read))
        .andThen(done -> retriever.close())
        .compose(raw -> withScripts(vertx, read(raw, env)))
        .compose(loaded -> withTlsFiles(vertx, loaded))
        .recover(e -> Future.succeededFuture(new LoadedConfig(null, List.of(), List.of(path + ": "
            + (e.getMessage() == null ? "cannot read config (" + FileErrors.describe(e) + ")" : e.getMessage())))));
  }

  /** Pure: the raw document as YAML gave it, and the environment to substitute and override from. No script is read. */
  public static LoadedConfig parse(JsonObject raw, Map<String, String> env) {
    return read(raw, env).loaded();
  }

  /** The canonical form as written by {@link GatewayConfig#toJson()}: only read and validated. */
  static LoadedConfig readCanonical(JsonObject canonical) {
    return readAndValidate(canonical, new Problems()).loaded();
  }

  /**
   * A config another cluster member read and validated ({@link GatewayConfig#toJson() canonical}), as this member
   * runs it: its own {@code LLMPROXY_*} overrides (its cluster host, port and roles, from its environment and command
   * line) applied on top, then read and validated again. Scripts are not read here: the member's start or reload
   * compiles them, and fails if one is missing on this member.
   */
  public static LoadedConfig forMember(JsonObject canonical, Map<String, String> env) {
    Problems problems = new Problems();
    try {
      JsonObject tree = canonical.copy();
      EnvOverrides.apply(tree, env, problems);
      return readAndValidate(tree, problems).loaded();
    } catch (RuntimeException e) {
      return internalError(e).loaded();
    }
  }

  /** A config as read and validated, with the problems found so far (scripts may add to them). */
  private record Checked(GatewayConfig config, Problems problems) {

    LoadedConfig loaded() {
      return new LoadedConfig(problems.hasErrors() ? null : config, problems.warnings(), problems.errors());
    }
  }

  private static Checked read(JsonObject raw, Map<String, String> env) {
    Problems problems = new Problems();
    try {
      JsonObject tree = EnvSubstitution.apply(raw == null ? new JsonObject() : raw, env, problems);
      DeprecatedFields.apply(tree, problems);
      EnvOverrides.apply(tree, env, problems);
      ProviderKeys.resolve(tree, env, problems);
      return readAndValidate(tree, problems);
    } catch (RuntimeException e) {
      return internalError(e);
    }
  }

  private static Checked readAndValidate(JsonObject tree, Problems problems) {
    try {
      GatewayConfig config = ConfigReader.readRoot(tree, problems, GatewayConfig::read);
      ConfigValidator.validate(config, problems);
      return new Checked(config, problems);
    } catch (RuntimeException e) {
      return internalError(e);
    }
  }

  /** A defect of ours met on some input: the user learns the file was not accepted, the debug log gets the trace. */
  private static Checked internalError(RuntimeException e) {
    LOG.debug("config could not be checked", e);
    Problems problems = new Problems();
    problems.error(DOCUMENT, "could not be checked because of an internal error of the gateway; please report it "
        + "with this file");
    return new Checked(null, problems);
  }

  /**
   * vertx-config's failure (or an empty result) explained from the file itself: empty, not YAML with its line, not a
   * mapping, a key repeated. vertx-config reports a file of comments as a NullPointerException, so its message is never shown.
   */
  private static Future<JsonObject> orFileProblem(Vertx vertx, String path, AsyncResult<JsonObject> read) {
    // Read again even when vertx-config succeeded: it lets a repeated key silently replace the first (a second
    // "server:" drops the whole first section), which the original's YAML reader refuses.
    return vertx.fileSystem().readFile(path)
        .recover(e -> Future.failedFuture("cannot read config (" + FileErrors.describe(e) + ")"))
        .compose(text -> vertx.executeBlocking(() -> ConfigFileProblem.of(text.toString())))
        .compose(problem -> {
          if (problem != null) {
            return Future.failedFuture(problem);
          }
          if (read.succeeded()) {
            return Future.succeededFuture(read.result() == null ? new JsonObject() : read.result());
          }
          return Future.failedFuture("cannot read config (" + FileErrors.describe(read.cause()) + ")");
        });
  }

  /**
   * The TLS files start-up would open, each read as start-up would: a missing or unreadable one is an error by its
   * path, not a failure to listen later.
   */
  private static Future<LoadedConfig> withTlsFiles(Vertx vertx, LoadedConfig loaded) {
    if (loaded.config() == null || !loaded.config().server().tls().enabled()) {
      return Future.succeededFuture(loaded);
    }
    TlsConfig tls = loaded.config().server().tls();
    Map<String, String> files = new java.util.LinkedHashMap<>();
    files.put("server.tls.cert_file", tls.certFile());
    files.put("server.tls.key_file", tls.keyFile());
    if (!"none".equals(tls.clientAuth())) {
      files.put("server.tls.client_ca_file", tls.clientCaFile());
    }
    List<Future<String>> checks = new ArrayList<>();
    files.forEach((at, file) -> checks.add(vertx.fileSystem().readFile(file)
        .map(read -> (String) null)
        .otherwise(e -> at + ": cannot read " + file + " (" + FileErrors.describe(e) + ")")));
    return Future.join(checks).transform(all -> {
      List<String> errors = new ArrayList<>(loaded.errors());
      checks.stream().map(Future::result).filter(java.util.Objects::nonNull).forEach(errors::add);
      return Future.succeededFuture(errors.size() == loaded.errors().size() ? loaded
          : new LoadedConfig(null, loaded.warnings(), errors));
    });
  }

  /** Compiles every script the config makes the gateway load, as start-up would; each failure an error by its path. */
  private static Future<LoadedConfig> withScripts(Vertx vertx, Checked checked) {
    if (checked.config() == null) {
      return Future.succeededFuture(checked.loaded());
    }
    List<Future<String>> results = new ArrayList<>();
    ScriptBlocks.inUse(checked.config()).forEach((at, script) -> results.add(
        ScriptLoader.load(vertx, script, at).map(compiled -> (String) null).otherwise(Throwable::getMessage)));
    return Future.join(results).transform(all -> {
      for (Future<String> result : results) {
        String failure = result.result();
        if (failure != null) {
          int colon = failure.indexOf(": ");
          checked.problems().error(failure.substring(0, colon), failure.substring(colon + 2));
        }
      }
      return Future.succeededFuture(checked.loaded());
    });
  }
}
