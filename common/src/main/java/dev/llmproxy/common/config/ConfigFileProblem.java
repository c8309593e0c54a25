package dev.llmproxy.common.config;

import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.reader.ReaderException;

/**
 * Says in a user's words why a config file could not be read as a YAML mapping: empty, not YAML (with the line and
 * column), not text, too large, not a mapping. vertx-config's own failures name Java exceptions
 * ({@code Cannot read field "map" because "other" is null} for a file of comments), so the loader asks here instead.
 */
final class ConfigFileProblem {

  /** SnakeYAML's default limit of a document (3 MB of code points): a larger file is never a config. */
  static final long MAX_BYTES = 3L * 1024 * 1024;
  static final String TOO_LARGE = "the file is too large to be a config (YAML reading stops at 3 MB of text)";


  /**
   * The longest line a config may have. YAML reads a long scalar at about a second per megabyte (twice: vertx-config
   * and this class), so a megabyte value on one line costs seconds for a value that is never a setting; a PEM or a
   * flow list of keys stays far below.
   */
  static final int MAX_LINE_BYTES = 64 * 1024;

  /** Null, or why {@code bytes} has a line too long to be read as a config, naming the line. */
  static String longLine(byte[] bytes) {
    int line = 1;
    int start = 0;
    for (int i = 0; i <= bytes.length; i++) {
      if (i == bytes.length || bytes[i] == '\n') {
        if (i - start > MAX_LINE_BYTES) {
          return "line " + line + " is " + (i - start) + " bytes long; a config line is at most " + MAX_LINE_BYTES
              + " bytes (no setting needs a longer value)";
        }
        line++;
        start = i + 1;
      }
    }
    return null;
  }

  static final String EMPTY = "empty config: the file has no settings (only comments or blank lines)";

  private ConfigFileProblem() {
  }

  /**
   * What is wrong with {@code text} as a config document, or null when it is a YAML mapping. Parses with the same
   * library and limits as vertx-config's YAML store; blocking (CPU), so called off the event loop.
   */
  static String of(String text) {
    Object document;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      document = new Yaml(new SafeConstructor(options)).load(text);
    } catch (MarkedYAMLException e) {
      return at(e.getProblemMark()) + (e.getProblem() == null ? "not valid YAML" : e.getProblem());
    } catch (ReaderException e) {
      return "not a YAML text file: character " + (e.getPosition() + 1) + " (U+" + String.format("%04X", e.getCodePoint())
          + ") is not allowed";
    } catch (YAMLException e) {
      String message = e.getMessage() == null ? "" : e.getMessage();
      if (message.contains("exceeds the limit")) {
        return TOO_LARGE;
      }
      return "not valid YAML";
    } catch (RuntimeException | StackOverflowError e) {
      // Deeply nested or otherwise pathological input: no library message is fit to show.
      return "not valid YAML";
    }
    if (document == null) {
      return EMPTY;
    }
    if (!(document instanceof Map)) {
      return "the top level must be a mapping of sections (server:, backends:, ...), not " + kind(document);
    }
    return null;
  }

  private static String at(Mark mark) {
    return mark == null ? "" : "line " + (mark.getLine() + 1) + " column " + (mark.getColumn() + 1) + ": ";
  }

  private static String kind(Object document) {
    if (document instanceof List) {
      return "a list";
    }
    return "a single value";
  }
}
