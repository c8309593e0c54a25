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

    String said = failedStartUp(config);
    assertTrue(said.contains(config + ": 2 error(s); nothing started"), said);
    errorLines.forEach(line -> assertTrue(said.contains(line), line + " not in: " + said));
    assertTrue(said.contains("config: rate_limit.enabled: not set; rate limiting is on"), said);
    assertFalse(said.contains("Exception") || said.contains("at dev."), said);
  }

  /**
   * Issue 17: a corpus of broken files. Each exits 1, names the file, says what is wrong in words (the fragment given)
   * and never shows Java's text (an exception, a stack frame, {@code null}).
   */
  @Test
  void aCorpusOfBrokenFilesIsRefusedInWordsByPath(@TempDir Path dir) throws Exception {
    String ok = "backends:\n  - url: \"http://127.0.0.1:8001\"\n";
    byte[] garbage = new byte[4096];
    new java.util.Random(17).nextBytes(garbage);
    Map<String, Object[]> corpus = new LinkedHashMap<>();
    corpus.put("empty", new Object[] {"", "empty config"});
    corpus.put("blank", new Object[] {"\n\n   \n", "empty config"});
    corpus.put("comments", new Object[] {"# server:\n#   listen: \":1\"\n", "empty config"});
    corpus.put("document-marker", new Object[] {"---\n...\n", "empty config"});
    corpus.put("garbage", new Object[] {garbage, "not"});
    corpus.put("nul-bytes", new Object[] {"server:\u0000\u0000\n", "not a YAML text file"});
    corpus.put("indentation", new Object[] {"server:\n  listen: \":1\"\n bad: 1\n", "line 3 column 2"});
    corpus.put("unclosed-list", new Object[] {"backends: [\n", "line 2"});
    corpus.put("unclosed-quote", new Object[] {"server:\n  listen: \":1\n", "line"});
    corpus.put("tab-indent", new Object[] {"server:\n\tlisten: \":1\"\n", "line 2"});
    corpus.put("duplicate-key", new Object[] {ok + "server:\n  listen: \":1\"\nserver:\n  listen: \":2\"\n", "line"});
    corpus.put("top-level-list", new Object[] {"- server\n- backends\n", "must be a mapping"});
    corpus.put("top-level-scalar", new Object[] {"hello", "must be a mapping"});
    corpus.put("deep-nesting", new Object[] {"a: " + "[".repeat(5000) + "]".repeat(5000) + "\n", "not valid YAML"});
    corpus.put("section-not-mapping", new Object[] {ok + "server: 12\n", "server: must be a mapping"});
    corpus.put("backends-not-list", new Object[] {"backends: {url: 3}\n", "backends: must be a list"});
    corpus.put("port-not-number", new Object[] {ok + "server:\n  listen: \"127.0.0.1:http\"\n", "server.listen"});
    corpus.put("bool-wrong", new Object[] {ok + "auth:\n  enabled: maybe\n", "auth.enabled: not a boolean"});
    corpus.put("int-wrong", new Object[] {ok + "routing:\n  retry:\n    max_retries: lots\n",
        "routing.retry.max_retries: not an integer"});
    corpus.put("int-overflow", new Object[] {ok + "routing:\n  retry:\n    max_retries: 4294967297\n",
        "routing.retry.max_retries: out of range"});
    corpus.put("negative", new Object[] {ok + "routing:\n  retry:\n    max_retries: -1\n", "must be >= 0"});
    corpus.put("duration-words", new Object[] {ok + "server:\n  read_timeout: soon\n", "server.read_timeout: not a duration"});
    corpus.put("duration-negative", new Object[] {ok + "server:\n  read_timeout: -5s\n", "server.read_timeout: not a duration"});
    corpus.put("duration-unit", new Object[] {ok + "server:\n  read_timeout: 5d\n", "server.read_timeout: not a duration"});
    corpus.put("duration-overflow-hours", new Object[] {ok + "server:\n  read_timeout: 9999999999999999999999h\n",
        "server.read_timeout: too long a duration"});
    corpus.put("duration-overflow-ns", new Object[] {ok + "server:\n  read_timeout: 18446744073709551616ns\n",
        "server.read_timeout: too long a duration"});
    corpus.put("duration-overflow-seconds", new Object[] {ok + "server:\n  read_timeout: 1e300\n",
        "server.read_timeout: too long a duration"});
    corpus.put("url-scheme", new Object[] {"backends:\n  - url: \"ftp://example.com\"\n", "backends[0].url: not an http(s) URL"});
    corpus.put("url-garbage", new Object[] {"backends:\n  - url: \"http://exa mple.com:99999\"\n", "backends[0].url"});
    corpus.put("url-missing", new Object[] {"backends:\n  - name: a\n", "backends[0].url"});
    corpus.put("enum", new Object[] {ok + "routing:\n  load_balance: fastest\n", "routing.load_balance"});
    corpus.put("tls-missing-files", new Object[] {ok + "server:\n  tls:\n    enabled: true\n    cert_file: "
        + dir.resolve("nope.crt") + "\n    key_file: " + dir.resolve("nope.key") + "\n",
        "server.tls.cert_file: cannot read " + dir.resolve("nope.crt") + " (no such file)"});
    corpus.put("tls-no-key", new Object[] {ok + "server:\n  tls:\n    enabled: true\n    cert_file: a.crt\n",
        "server.tls.key_file: required"});
    corpus.put("unset-variable", new Object[] {"backends:\n  - url: \"${LLMPROXY_TEST_SURELY_UNSET}\"\n", "LLMPROXY_TEST_SURELY_UNSET"});
    corpus.put("lua-missing", new Object[] {ok + "routing:\n  script:\n    enabled: true\n    path: " + dir.resolve("none.lua")
        + "\n", "routing.script"});
    corpus.put("fault-injection-admin", new Object[] {ok + "fault_injection:\n  enabled: true\n  faults:\n"
        + "    - paths: [/admin/keys]\n      abort: {status: 503}\n", "fault_injection.faults[0].paths[0]"});
    String routes = ok + "rate_limit:\n  enabled: true\n  routes:\n";
    corpus.put("route-rate-words", new Object[] {routes + "    \"/v1/embeddings\": \"lots\"\n",
        "rate_limit.routes./v1/embeddings: not a rate (\"lots\"); write N/second, N/minute, N/hour or N/day"});
    corpus.put("route-rate-unit", new Object[] {routes + "    \"/v1/embeddings\": \"10/week\"\n",
        "rate_limit.routes./v1/embeddings: not a rate"});
    corpus.put("route-rate-zero", new Object[] {routes + "    \"/v1/embeddings\": \"0/minute\"\n",
        "rate_limit.routes./v1/embeddings: must allow at least 1 request per minute"});
    corpus.put("route-rate-negative", new Object[] {routes + "    \"/v1/embeddings\": \"-3/second\"\n",
        "rate_limit.routes./v1/embeddings: must allow at least 1 request per second"});
    corpus.put("route-rate-missing", new Object[] {routes + "    \"/v1/embeddings\":\n",
        "rate_limit.routes./v1/embeddings: no rate given"});
    corpus.put("route-own-endpoint", new Object[] {routes + "    \"/admin/keys\": \"5/second\"\n",
        "rate_limit.routes./admin/keys: not an API route of the gateway"});
    corpus.put("route-dot-segments", new Object[] {routes + "    \"/v1/x/../embeddings\": \"5/second\"\n",
        "rate_limit.routes./v1/x/../embeddings: never matches"});
    corpus.put("route-twice", new Object[] {routes + "    \"/v1/embeddings\": \"5/second\"\n"
        + "    \"/v1/embeddings/\": \"6/second\"\n", "rate_limit.routes./v1/embeddings/: the same route"});
    corpus.put("route-huge-path", new Object[] {routes + "    ? \"/v1/" + "a".repeat(20_000) + "\"\n    : \"x\"\n",
        "rate_limit.routes.\"/v1/aaa"});
    corpus.put("ten-megabytes-one-line", new Object[] {"server:\n  listen: \"" + "x".repeat(10 * 1024 * 1024) + "\"\n",
        "too large"});
    corpus.put("two-megabytes-one-line", new Object[] {ok + "server:\n  read_timeout: \"" + "9".repeat(2 * 1024 * 1024)
        + "\"\n", "line 4 is 20971"});
    corpus.put("long-but-fine-line", new Object[] {ok + "server:\n  read_timeout: \"" + "9".repeat(60_000) + "\"\n",
        "server.read_timeout: not a duration (\"999999"});
    assertTrue(corpus.size() >= 30, corpus.size() + " files");
    for (Map.Entry<String, Object[]> entry : corpus.entrySet()) {
      out.reset();
      err.reset();
      Path path = dir.resolve(entry.getKey() + ".yaml");
      Object content = entry.getValue()[0];
      Files.write(path, content instanceof byte[] bytes ? bytes : ((String) content).getBytes(StandardCharsets.UTF_8));
      long start = System.nanoTime();
      int exit = validate(path.toString());
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      String said = err.toString() + out.toString();
      assertEquals(1, exit, entry.getKey() + ": " + said);
      assertTrue(said.contains(path.toString()), entry.getKey() + " does not name its file: " + said);
      assertTrue(said.contains((String) entry.getValue()[1]), entry.getKey() + ": \"" + entry.getValue()[1] + "\" not in: "
          + said);
      for (String javaText : List.of("Exception", "java.", "at dev.", "internal error", "null")) {
        assertFalse(said.contains(javaText), entry.getKey() + ": " + javaText + " in: " + said);
      }
      assertTrue(said.length() < 10_000, entry.getKey() + " echoes its input: " + said.length() + " characters");
      System.out.printf("validate %-28s exit %d in %5d ms%n", entry.getKey(), exit, tookMs);
    }
  }

  /** Issue 17: seed 002's per-route limits are summarised with whom they count. */
  @Test
  void routeLimitsAreSummarised(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("routes.yaml");
    Files.writeString(file, """
        server:
          listen: "127.0.0.1:9000"
        backends:
          - url: "http://127.0.0.1:8001"
        rate_limit:
          enabled: true
          routes:
            "/v1/chat/completions": "500/minute"
            "/v1/embeddings/": "1000 per hour"
        """);
    assertEquals(0, validate(file.toString()), err.toString());
    String summary = out.toString();
    assertTrue(summary.contains("routes:    /v1/chat/completions 500/minute, /v1/embeddings 1000/hour"
        + " (per client address)"), summary);
    assertFalse(summary.contains("unknown field"), summary);
  }

  /** Issue 17: a port in use stops start-up with one line naming the field and the address, without a stack trace. */
  @Test
  void aPortInUseIsNamedInOneLine(@TempDir Path dir) throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + taken.getLocalPort();
      Path config = dir.resolve("config.yaml");
      Files.writeString(config, "server:\n  listen: \"" + address + "\"\nbackends:\n  - url: \"http://127.0.0.1:9\"\n");
      String said = failedStartUp(config);
      assertTrue(said.contains("server.listen: cannot listen on " + address
          + " (the port is already in use by another process)"), said);
      assertFalse(said.contains("Exception") || said.contains("\tat ") || said.contains("at io.") , said);
    }
  }

  /** Runs the gateway on {@code config} in its own JVM, which must stop with exit code 1; what it said. */
  private static String failedStartUp(Path config) throws Exception {
    Path log = config.resolveSibling("run.log");
    Process run = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(run.waitFor(120, TimeUnit.SECONDS), "start-up did not stop");
    String said = Files.readString(log);
    assertEquals(1, run.exitValue(), said);
    return said;
  }

  @Test
  void aMissingFileIsAnError() {
    assertEquals(1, validate("does/not/exist.yaml"));
    assertTrue(err.toString().contains("not found"));
  }
}
