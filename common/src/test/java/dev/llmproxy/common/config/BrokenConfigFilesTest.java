package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * Whatever the file holds, loading answers with {@code path: message} lines a user can act on: never a Java
 * exception's text, and never a config.
 */
class BrokenConfigFilesTest {

  @TempDir
  Path dir;

  private static void assertClean(List<String> lines, String what) {
    for (String line : lines) {
      for (String javaText : List.of("Exception", "java.", "at dev.", "Error:", "internal error", "null")) {
        assertFalse(line.contains(javaText), what + ": \"" + javaText + "\" in " + line);
      }
    }
  }

  private LoadedConfig loadBytes(byte[] content) throws Exception {
    Path file = Files.createTempFile(dir, "config", ".yaml");
    Files.write(file, content);
    LoadedConfig loaded = TestConfigs.loadFile(file.toString(), Map.of());
    assertFalse(loaded.ok(), "accepted: " + new String(content, 0, Math.min(200, content.length), StandardCharsets.UTF_8));
    assertClean(loaded.errors(), "file");
    return loaded;
  }

  private String onlyError(String yaml) throws Exception {
    LoadedConfig loaded = loadBytes(yaml.getBytes(StandardCharsets.UTF_8));
    assertEquals(1, loaded.errors().size(), loaded.errors()::toString);
    String error = loaded.errors().get(0);
    return error.substring(error.indexOf(".yaml: ") + ".yaml: ".length());
  }

  @Test
  void aFileOfCommentsOrNothingIsAnEmptyConfig() throws Exception {
    assertEquals(ConfigFileProblem.EMPTY, onlyError(""));
    assertEquals(ConfigFileProblem.EMPTY, onlyError("\n   \n"));
    assertEquals(ConfigFileProblem.EMPTY, onlyError("# MaxOpenConns: 10\n# MaxIdleConns: 5\n"));
    assertEquals(ConfigFileProblem.EMPTY, onlyError("---\n"));
  }

  @Test
  void yamlSyntaxErrorsNameTheirLineAndColumn() throws Exception {
    assertEquals("line 3 column 2: expected <block end>, but found '<block mapping start>'",
        onlyError("server:\n  listen: \":1\"\n bad: 1\n"));
    assertEquals("line 2 column 1: expected ',' or ']', but got <stream end>", onlyError("server: [unclosed\n"));
  }

  @Test
  void aDocumentThatIsNotAMappingSaysWhatItIs() throws Exception {
    assertEquals("the top level must be a mapping of sections (server:, backends:, ...), not a list",
        onlyError("- server\n- backends\n"));
    assertEquals("the top level must be a mapping of sections (server:, backends:, ...), not a single value",
        onlyError("just some words"));
  }

  @Test
  void binaryGarbageIsNotAYamlTextFile() throws Exception {
    Random random = new Random(13);
    for (int i = 0; i < 20; i++) {
      byte[] garbage = new byte[64 + random.nextInt(8192)];
      random.nextBytes(garbage);
      loadBytes(garbage);
    }
    assertEquals("not a YAML text file: character 8 (U+0000) is not allowed",
        onlyError("server:\u0000\u0001"));
  }

  @Test
  void deepNestingAndHugeFilesAreRefusedInWords() throws Exception {
    assertEquals("not valid YAML", onlyError("a: " + "[".repeat(5_000) + "]".repeat(5_000) + "\n"));
    StringBuilder huge = new StringBuilder();
    for (int i = 0; huge.length() < 3_300_000; i++) {
      huge.append("key_").append(i).append(": \"").append("x".repeat(80)).append("\"\n");
    }
    assertEquals("the file is too large to be a config (YAML reading stops at 3 MB of text)", onlyError(huge.toString()));
  }

  @Test
  void aMissingFileSaysSo() {
    LoadedConfig loaded = TestConfigs.loadFile(dir.resolve("nope.yaml").toString(), Map.of());
    assertEquals(List.of(dir.resolve("nope.yaml") + ": cannot read config (no such file)"), loaded.errors());
  }

  /**
   * Every node of the reference config and of the seed examples in older layouts, replaced in turn by a value of each wrong shape:
   * each answer is errors or warnings by path, never a thrown exception or an internal error.
   */
  @Test
  void wrongTypesEverywhereAreReportedByPath() throws Exception {
    List<Object> wrong = List.of(new JsonObject().put("x", 1), new JsonArray().add("x").add(new JsonObject()), "zz",
        99_999_999_999L, "${UNSET_VARIABLE}");
    // The reference holds every field; the older layouts exercise the deprecated-field moves on the raw tree.
    List<Path> documents = new ArrayList<>(List.of(Path.of("../conf/config-reference.yaml")));
    for (String example : List.of("003/01-complete.yaml", "004/02-configuration.yaml")) {
      documents.add(SeedExamples.file(example));
    }
    int checked = 0;
    for (Path document : documents) {
      Object yaml = new Yaml().load(Files.readString(document));
      if (!(yaml instanceof Map<?, ?> map)) {
        continue;
      }
      @SuppressWarnings("unchecked")
      JsonObject original = new JsonObject(new JsonObject((Map<String, Object>) map).encode());
      List<String> paths = new ArrayList<>();
      nodes(original, "", paths::add);
      for (String path : paths) {
        for (Object value : wrong) {
          JsonObject mutated = original.copy();
          replace(mutated, path, value);
          LoadedConfig loaded;
          try {
            loaded = ConfigLoader.parse(mutated, Map.of());
          } catch (RuntimeException e) {
            fail(document + " " + path + " = " + value + ": threw " + e);
            return;
          }
          assertClean(loaded.errors(), document + " " + path + " = " + value);
          assertClean(loaded.warnings(), document + " " + path + " = " + value);
          checked++;
        }
      }
    }
    assertTrue(checked > 1_500, "only " + checked + " variants");
  }

  /** Between the keys of a node's path: keys may hold dots and slashes ({@code rate_limit.routes}), never this. */
  private static final String STEP = "\u001f";

  /** Every node's path, {@code a STEP b STEP 0 STEP c}. */
  private static void nodes(Object node, String path, Consumer<String> out) {
    if (node instanceof JsonObject o) {
      for (String key : o.fieldNames()) {
        String child = path.isEmpty() ? key : path + STEP + key;
        out.accept(child);
        nodes(o.getValue(key), child, out);
      }
    } else if (node instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        String child = path + STEP + i;
        out.accept(child);
        nodes(a.getValue(i), child, out);
      }
    }
  }

  private static void replace(JsonObject root, String path, Object value) {
    String[] parts = path.split(STEP);
    Object node = root;
    for (int i = 0; i < parts.length - 1; i++) {
      node = node instanceof JsonObject o ? o.getValue(parts[i]) : ((JsonArray) node).getValue(Integer.parseInt(parts[i]));
    }
    String last = parts[parts.length - 1];
    if (node instanceof JsonObject o) {
      o.put(last, value);
    } else {
      ((JsonArray) node).set(Integer.parseInt(last), value);
    }
  }
}
