package dev.llmproxy.common.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The YAML examples of seeds 000, 001, 003 and 004, extracted verbatim once into {@code src/test/resources/seeds}.
 * A fragment (a list item of {@code auth.pipeline}, a lone {@code script:} block) says where it belongs in a
 * {@code # under: a.b} header line and is loaded nested there, as a user would paste it.
 */
final class SeedExamples {

  static final Path ROOT = Path.of("src/test/resources/seeds");

  private SeedExamples() {
  }

  /** Every example, as {@code seed/file} names ({@code 001/16-rate-limit.yaml}), in order. */
  static List<String> all() {
    try (Stream<Path> files = Files.walk(ROOT)) {
      return files.filter(f -> f.toString().endsWith(".yaml")).map(f -> ROOT.relativize(f).toString().replace('\\', '/'))
          .sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path file(String name) {
    return ROOT.resolve(name);
  }

  /** Loads the example through the real loader (its file as it is, or a fragment nested under its parent). */
  static LoadedConfig load(String name, Map<String, String> env) {
    String text = read(name);
    String under = text.lines().filter(l -> l.startsWith("# under: ")).map(l -> l.substring("# under: ".length()).trim())
        .findFirst().orElse(null);
    if (under == null) {
      return TestConfigs.loadFile(file(name).toString(), env);
    }
    return TestConfigs.loadYaml(nest(under, text), env);
  }

  private static String nest(String under, String fragment) {
    String[] keys = under.split("\\.");
    StringBuilder out = new StringBuilder();
    String indent = "";
    for (String key : keys) {
      out.append(indent).append(key).append(":\n");
      indent += "  ";
    }
    String pad = indent;
    fragment.lines().forEach(line -> out.append(pad).append(line).append('\n'));
    return out.toString();
  }

  static String read(String name) {
    try {
      return Files.readString(file(name), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
