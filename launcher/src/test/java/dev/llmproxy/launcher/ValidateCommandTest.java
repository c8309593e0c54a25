package dev.llmproxy.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ValidateCommandTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int validate(String path) {
    return Main.validate(path, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void theShippedDefaultConfigIsValidAndSummarised() {
    assertEquals(0, validate("../conf/config.yaml"), err.toString());
    String summary = out.toString();
    assertTrue(summary.contains("listen:    http://:8000"), summary);
    assertTrue(summary.contains("local  http://127.0.0.1:8080  weight=1"), summary);
    assertTrue(summary.contains("auth=off"), summary);
  }

  @Test
  void theReferenceConfigIsValid() {
    assertEquals(0, validate("../conf/config-reference.yaml"), err.toString());
  }

  @Test
  void everyErrorIsListedByItsPathAndTheExitCodeIsOne(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, """
        server:
          listen: "nowhere"
        backends:
          - url: "http://127.0.0.1:8001"
          - url: "ftp://example.com"
        routing:
          retry:
            multiplier: 0.5
        """);
    assertEquals(1, validate(file.toString()));
    String errors = err.toString();
    assertTrue(errors.contains("backends[1].url: not an http(s) URL"), errors);
    assertTrue(errors.contains("routing.retry.multiplier: must be >= 1"), errors);
    assertTrue(errors.contains("server.listen"), errors);
    assertEquals("", out.toString(), "nothing is summarised for an invalid file");
  }

  @Test
  void deprecatedFieldsWarnAndStillValidate(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("old.yaml");
    Files.writeString(file, """
        listen: ":9000"
        backends:
          - url: "http://127.0.0.1:8001"
        load_balance_strategy: round_robin
        """);
    assertEquals(0, validate(file.toString()), err.toString());
    assertTrue(err.toString().contains("warning: ") && err.toString().contains("server.listen"), err.toString());
    assertTrue(out.toString().contains(":9000"), out.toString());
  }

  @Test
  void aMissingFileIsAnError() {
    assertEquals(1, validate("does/not/exist.yaml"));
    assertTrue(err.toString().contains("not found"));
  }
}
