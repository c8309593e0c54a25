package dev.llmproxy.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real llama.cpp {@code llama-server} serving a tiny random-weight model, for end-to-end tests.
 *
 * <p>The binary and the model are built once per machine by {@code dev/llama-server.sh build} and
 * cached outside the repository; this class only locates them (through {@code dev/llama-server.sh
 * path} / {@code model}), starts the server on a free loopback port and waits until {@code GET
 * /health} answers 200. The server runs with {@code -c 4096 -np 4 -t 1 --metrics}: 4 parallel
 * slots of 1024 tokens of context each. The weights are noise, so send {@code "ignore_eos": true}
 * and {@code "max_tokens"} to get an exact number of completion tokens. Without {@code --alias}
 * the server reports the model file's path as the model name; pass {@code List.of("--alias",
 * "tiny")} to {@link #start(List)} for a fixed one.
 *
 * <p>Wire facts worth knowing: streamed responses are {@code text/event-stream}, chunked,
 * {@code data: {json}\n\n} events (LF only) ending in {@code data: [DONE]\n\n}; with {@code
 * stream_options.include_usage} the usage comes in a separate last chunk with {@code "choices":[]}.
 * The server closes the HTTP/1.1 connection after every streamed response (no {@code Connection:
 * close} header, although it sends {@code Keep-Alive: timeout=5, max=100}); non-streamed responses
 * keep the connection alive.
 *
 * <pre>{@code
 * try (LlamaServer llama = LlamaServer.start()) {
 *   // POST llama.baseUrl() + "/v1/chat/completions"
 * }
 * }</pre>
 */
public final class LlamaServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LlamaServer.class);

  /** How long to wait for {@code /health} to answer 200. */
  public static final Duration STARTUP_DEADLINE = Duration.ofSeconds(120);

  private static final String SCRIPT = "dev/llama-server.sh";
  private static final int START_ATTEMPTS = 3;
  private static final String EXITED = "llama-server exited with ";

  private final Process process;
  private final int port;
  private final Path logFile;
  private final Thread shutdownHook;

  private LlamaServer(Process process, int port, Path logFile) {
    this.process = process;
    this.port = port;
    this.logFile = logFile;
    this.shutdownHook = new Thread(process::destroyForcibly, "llama-server-shutdown-" + port);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts llama-server with the default flags; see {@link #start(List)}. */
  public static LlamaServer start() {
    return start(List.of());
  }

  /**
   * Starts llama-server on a free loopback port and returns once it is healthy.
   *
   * @param extraArgs further llama-server arguments, appended after the defaults
   * @throws IllegalStateException if the binary or model is not built, or the server does not
   *     become healthy within {@link #STARTUP_DEADLINE}
   */
  public static LlamaServer start(List<String> extraArgs) {
    Path root = repoRoot();
    String binary = runScript(root, "path");
    String model = runScript(root, "model");
    Path targetDir = Path.of(System.getProperty("user.dir"), "target");
    try {
      Files.createDirectories(targetDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    IllegalStateException last = null;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      int port = freePort();
      Path log = targetDir.resolve("llama-server-" + port + ".log");
      List<String> cmd = new ArrayList<>(List.of(
          binary, "-m", model,
          "--host", "127.0.0.1", "--port", Integer.toString(port),
          "-c", "4096", "-np", "4", "-t", "1", "--metrics"));
      cmd.addAll(extraArgs);
      Process p;
      try {
        p = new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
      } catch (IOException e) {
        throw new IllegalStateException("cannot start " + binary, e);
      }
      LlamaServer server = new LlamaServer(p, port, log);
      try {
        server.awaitHealthy();
        LOG.info("llama-server ready at {} (log {})", server.baseUrl(), log);
        return server;
      } catch (IllegalStateException e) {
        server.close();
        last = e;
        // an early exit is most likely a lost race for the port: try another one
        if (!e.getMessage().startsWith(EXITED)) {
          break;
        }
        LOG.warn("llama-server attempt {} failed: {}", attempt, e.getMessage());
      }
    }
    throw last;
  }

  public int port() {
    return port;
  }

  /** {@code http://127.0.0.1:PORT}, without a trailing slash. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** The file the server's stdout and stderr go to. */
  public Path logFile() {
    return logFile;
  }

  /** Stops the server and waits for it to exit. */
  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException ignored) {
      // JVM already shutting down
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void awaitHealthy() {
    HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1))
        .build();
    HttpRequest health = HttpRequest.newBuilder(URI.create(baseUrl() + "/health"))
        .timeout(Duration.ofSeconds(5))
        .GET()
        .build();
    long deadline = System.nanoTime() + STARTUP_DEADLINE.toNanos();
    String lastStatus = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(EXITED + process.exitValue()
            + " before becoming healthy; log " + logFile + ":\n" + tail(logFile));
      }
      try {
        HttpResponse<String> rsp = client.send(health, HttpResponse.BodyHandlers.ofString());
        if (rsp.statusCode() == 200) {
          return;
        }
        lastStatus = rsp.statusCode() + " " + rsp.body();
      } catch (ConnectException e) {
        lastStatus = "connection refused";
      } catch (IOException e) {
        lastStatus = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for llama-server", e);
      }
      try {
        // poll interval; returns early if the process dies
        process.waitFor(50, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for llama-server", e);
      }
    }
    throw new IllegalStateException("llama-server not healthy after " + STARTUP_DEADLINE.toSeconds()
        + " s (last: " + lastStatus + "); log " + logFile + ":\n" + tail(logFile));
  }

  private static Path repoRoot() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve(SCRIPT))) {
        return d;
      }
    }
    throw new IllegalStateException("no " + SCRIPT + " in " + dir + " or any parent");
  }

  private static String runScript(Path root, String command) {
    try {
      Process p = new ProcessBuilder("bash", root.resolve(SCRIPT).toString(), command)
          .directory(root.toFile())
          .redirectErrorStream(true)
          .start();
      p.getOutputStream().close();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(SCRIPT + " " + command + " timed out");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("llama-server is not built: run dev/llama-server.sh build"
            + " (once per machine, ~7 min). " + SCRIPT + " " + command + " said: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + SCRIPT + " " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + SCRIPT, e);
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read log: " + e + ")";
    }
  }
}
