package dev.llmproxy.common.config;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.FileSystem;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code .env} files (seed 002): {@code NAME=value} lines that supply variables for {@code ${VAR}} (and whatever
 * else reads the loader's environment) when the real environment does not set them. The file next to the config
 * file is read first, then the one of the working directory; the real environment always wins. Values are never
 * printed: a line that cannot be read is reported by its number only.
 */
final class DotEnv {

  static final String FILE_NAME = ".env";

  private DotEnv() {
  }

  /**
   * {@code env} with what the {@code .env} files beside {@code configPath} and in the working directory add. A
   * missing file adds nothing; a file that cannot be read or parsed is a warning.
   */
  static Future<Map<String, String>> merged(Vertx vertx, String configPath, Map<String, String> env,
      List<String> warnings) {
    Path beside = Path.of(configPath).toAbsolutePath().normalize().resolveSibling(FILE_NAME);
    Path workingDir = Path.of(System.getProperty("user.dir", ".")).toAbsolutePath().normalize().resolve(FILE_NAME);
    List<Path> files = beside.equals(workingDir) ? List.of(beside) : List.of(beside, workingDir);
    Map<String, String> merged = new HashMap<>(env);
    Future<Void> chain = Future.succeededFuture();
    for (Path file : files) {
      chain = chain.compose(v -> read(vertx.fileSystem(), file, warnings)).map(vars -> {
        vars.forEach(merged::putIfAbsent);
        return null;
      });
    }
    return chain.map(v -> merged);
  }

  private static Future<Map<String, String>> read(FileSystem fs, Path file, List<String> warnings) {
    String path = file.toString();
    return fs.exists(path).compose(exists -> !exists ? Future.succeededFuture(Map.<String, String>of())
        : fs.readFile(path).map(text -> parse(text.toString(), path, warnings)))
        .otherwise(e -> {
          warnings.add(path + ": cannot be read; its variables are not used");
          return Map.of();
        });
  }

  /** Lines of {@code NAME=value}: {@code export } allowed, {@code #} comments, values optionally quoted. */
  static Map<String, String> parse(String text, String path, List<String> warnings) {
    Map<String, String> vars = new LinkedHashMap<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("export ")) {
        line = line.substring(7).strip();
      }
      int eq = line.indexOf('=');
      String name = eq < 0 ? "" : line.substring(0, eq).strip();
      if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        warnings.add(path + ":" + (i + 1) + ": not NAME=value; the line is ignored");
        continue;
      }
      vars.put(name, value(line.substring(eq + 1).strip()));
    }
    return vars;
  }

  private static String value(String raw) {
    if (raw.length() >= 2 && (raw.charAt(0) == '"' || raw.charAt(0) == '\'')) {
      int close = raw.indexOf(raw.charAt(0), 1);
      if (close > 0) {
        String quoted = raw.substring(1, close);
        return raw.charAt(0) == '"' ? quoted.replace("\\n", "\n").replace("\\\"", "\"") : quoted;
      }
    }
    int comment = raw.indexOf(" #");
    return comment >= 0 ? raw.substring(0, comment).strip() : raw;
  }
}
