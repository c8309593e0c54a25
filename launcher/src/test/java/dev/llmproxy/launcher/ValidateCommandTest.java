package dev.llmproxy.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    assertTrue(summary.contains("listen:    :8000 (all interfaces); clients use http://localhost:8000/v1"), summary);
    assertTrue(summary.contains("local  http://127.0.0.1:8080  weight=1  models=any"), summary);
    assertTrue(summary.contains("auth=off"), summary);
    assertTrue(summary.contains("warning:   OPEN GATEWAY: listening on all interfaces (:8000) with auth off"), summary);
  }

  @Test
  void aLoopbackAddressIsTheClientsAndModelListsAreShownWithoutTheOpenWarning(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("local.yaml");
    Files.writeString(file, """
        server:
          listen: "127.0.0.1:9000"
        backends:
          - name: big
            url: "http://127.0.0.1:8001"
            models: ["llama-70b", "qwen-72b"]
        """);
    assertEquals(0, validate(file.toString()), err.toString());
    String summary = out.toString();
    assertTrue(summary.contains("listen:    127.0.0.1:9000; clients use http://127.0.0.1:9000/v1"), summary);
    assertTrue(summary.contains("big  http://127.0.0.1:8001  weight=1  models=llama-70b,qwen-72b"), summary);
    assertFalse(summary.contains("OPEN GATEWAY"), summary);
  }

  @Test
  void theReferenceConfigIsValid() {
    assertEquals(0, validate("../conf/config-reference.yaml"), err.toString());
  }

  @Test
  void validateReadsDotEnvBesideTheConfigAndNeverPrintsItsValues(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve(".env"), "LLMPROXY_TEST_DOTENV_SECRET=sk-dotenv-secret-value\n");
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, """
        backends:
          - url: "http://127.0.0.1:8001"
            headers:
              Authorization: "Bearer ${LLMPROXY_TEST_DOTENV_SECRET}"
        condensation:
          enabled: true
          summary_max_tokens: 512
        """);
    assertEquals(0, validate(file.toString()), err.toString());
    String printed = out.toString() + err.toString();
    assertFalse(printed.contains("sk-dotenv-secret-value"), printed);
    assertTrue(printed.contains("condensation.summary_max_tokens: not supported"), printed);

    Files.delete(dir.resolve(".env"));
    assertEquals(1, validate(file.toString()));
    assertTrue(err.toString().contains("environment variable LLMPROXY_TEST_DOTENV_SECRET is not set"), err.toString());
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

  /** Issue 13: whatever the file holds, validate answers in words by path and exits 1, never with Java's text. */
  @Test
  void brokenFilesAreRefusedWithoutJavaExceptionText(@TempDir Path dir) throws Exception {
    byte[] garbage = new byte[2048];
    new java.util.Random(7).nextBytes(garbage);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("comments.yaml", "# MaxOpenConns: 10\n# MaxIdleConns: 5\n".getBytes(StandardCharsets.UTF_8));
    files.put("empty.yaml", new byte[0]);
    files.put("garbage.yaml", garbage);
    files.put("syntax.yaml", "server:\n  listen: \":1\"\n bad: 1\n".getBytes(StandardCharsets.UTF_8));
    files.put("list.yaml", "- a\n- b\n".getBytes(StandardCharsets.UTF_8));
    files.put("types.yaml", """
        server: 12
        backends: {url: 3}
        routing: {retry: [1, 2], timeout: {a: b}, load_balance: [x]}
        auth: {pipeline: {a: 1}, status_codes: [1]}
        rate_limit: {per_key: "fast", storage: 7}
        usage_hook: [1]
        api_keys: {a: b}
        logging: {request: {storage: [1]}}
        health_check: {script: {path: {x: 1}}}
        """.getBytes(StandardCharsets.UTF_8));
    for (Map.Entry<String, byte[]> file : files.entrySet()) {
      out.reset();
      err.reset();
      Path path = dir.resolve(file.getKey());
      Files.write(path, file.getValue());
      assertEquals(1, validate(path.toString()), file.getKey());
      String said = err.toString() + out.toString();
      for (String javaText : List.of("Exception", "java.", "at dev.", "internal error")) {
        assertFalse(said.contains(javaText), file.getKey() + ": " + said);
      }
      assertTrue(said.contains(path + ": 1 error(s)") || file.getKey().equals("types.yaml"), said);
    }
    Files.writeString(dir.resolve("comments-only.yaml"), "# nothing\n");
    err.reset();
    validate(dir.resolve("comments-only.yaml").toString());
    assertTrue(err.toString().contains("comments-only.yaml: empty config"), err.toString());
  }

  /** Issue 13: start-up refuses what validate refuses, with the same lines, and logs the warnings by path. */
  @Test
  void startUpRefusesWithTheLinesValidatePrints(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:0"
        backends:
          - url: "http://127.0.0.1:9"
        routing:
          script:
            enabled: true
            path: "%s"
        usage:
          enabled: true
          reporters:
            - name: local
              type: builtin
        rate_limit:
          per_key:
            requests_per_minute: 60
        """.formatted(dir.resolve("missing.lua")));
    assertEquals(1, validate(config.toString()));
    List<String> errorLines = err.toString().lines().filter(l -> l.startsWith("  ")).toList();
    assertEquals(2, errorLines.size(), err.toString());

    Path log = dir.resolve("run.log");
    Process run = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(run.waitFor(120, TimeUnit.SECONDS), "start-up did not stop");
    String said = Files.readString(log);
    assertEquals(1, run.exitValue(), said);
    assertTrue(said.contains(config + ": 2 error(s); nothing started"), said);
    errorLines.forEach(line -> assertTrue(said.contains(line), line + " not in: " + said));
    assertTrue(said.contains("config: rate_limit.enabled: not set; rate limiting is on"), said);
    assertFalse(said.contains("Exception") || said.contains("at dev."), said);
  }

  @Test
  void aMissingFileIsAnError() {
    assertEquals(1, validate("does/not/exist.yaml"));
    assertTrue(err.toString().contains("not found"));
  }
}
