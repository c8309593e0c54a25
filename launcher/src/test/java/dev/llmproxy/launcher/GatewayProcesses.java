package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.Poll;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The gateway in JVMs of its own, started from the command line as users run it ({@code Main} on this test's class
 * path), alone or as cluster members; each is ended (SIGKILL) when this closes. Also the YAML every such test starts
 * with, and the waits for a member to join and for a proxy to be ready.
 */
final class GatewayProcesses implements AutoCloseable {

  /** Hazelcast's waits shortened for loopback (they are system properties Hazelcast reads itself). */
  static final List<String> QUICK_HAZELCAST = List.of("-Dhazelcast.wait.seconds.before.join=1",
      "-Dhazelcast.max.wait.seconds.before.join=2", "-Dhazelcast.heartbeat.interval.seconds=1",
      "-Dhazelcast.max.no.heartbeat.seconds=10", "-Dhazelcast.partition.count=23");
  /** How long a member JVM may take to join its cluster on a loaded machine. */
  private static final Duration JOIN = Duration.ofSeconds(90);
  /** How long a gateway JVM may take to be ready on a loaded machine (a member waits for the others' services). */
  private static final Duration READY = Duration.ofSeconds(120);

  private final List<Process> started = new ArrayList<>();

  /** One member: the shared file, its roles on the command line, its cluster port from the environment. */
  Process member(Path config, String roles, int clusterPort, Path log) throws IOException {
    return member(config, roles, clusterPort, log, null, Map.of());
  }

  /**
   * @param workDir the member's working directory (relative script paths resolve there); null: the test's
   * @param env more of the member's environment ({@code LLMPROXY_*} overrides of its own, such as its listen address)
   */
  Process member(Path config, String roles, int clusterPort, Path log, Path workDir, Map<String, String> env)
      throws IOException {
    Map<String, String> environment = new HashMap<>(Map.of("LLMPROXY_CLUSTER_PORT", Integer.toString(clusterPort),
        "LLMPROXY_CLUSTER_HOST", "127.0.0.1"));
    environment.putAll(env);
    return start(QUICK_HAZELCAST, List.of("--config", config.toString(), "--cluster", "--roles", roles),
        ProcessBuilder.Redirect.to(log.toFile()), workDir, environment);
  }

  /** A gateway alone, its output added to {@code log} (a restart keeps what the process before it wrote). */
  Process gateway(Path config, Path log) throws IOException {
    return start(List.of(), List.of("--config", config.toString()), ProcessBuilder.Redirect.appendTo(log.toFile()),
        null, Map.of());
  }

  private Process start(List<String> jvmFlags, List<String> args, ProcessBuilder.Redirect output, Path workDir,
      Map<String, String> env) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path")));
    command.addAll(jvmFlags);
    command.add(Main.class.getName());
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output)
        .directory(workDir == null ? null : workDir.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    started.add(process);
    return process;
  }

  @Override
  public void close() throws InterruptedException {
    started.forEach(Process::destroyForcibly);
    for (Process process : started) {
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Waits until the member whose output is {@code log} says it has joined its cluster. */
  static void awaitJoined(Path log) {
    assertTrue(Poll.until(JOIN, () -> GatewayProcessTest.read(log).contains("cluster member ")),
        "member never started: " + GatewayProcessTest.read(log));
  }

  /** Waits until the proxy on {@code port} is ready; a failure shows the output of each of {@code logs}. */
  static void awaitReady(HttpClient http, int port, Path... logs) {
    assertTrue(Poll.until(READY, () -> GatewayProcessTest.status(http, port, "/ready") == 200),
        "the proxy on " + port + " never ready:\n" + Arrays.stream(logs)
            .map(log -> "--- " + log.getFileName() + ":\n" + GatewayProcessTest.read(log))
            .collect(Collectors.joining("\n")));
  }

  /**
   * The start of a gateway's YAML: its proxy on {@code port} in front of the mock backend, its log at info (JSON, one
   * event a line: the tests read it).
   */
  static String gatewayYaml(int port, String backendUrl) {
    return """
        server:
          listen: "127.0.0.1:%d"
        log:
          level: info
        backends:
          - name: mock
            url: "%s"
        """.formatted(port, backendUrl);
  }

  /** The admin API on a port of its own, with its key store in {@code dir}. */
  static String adminYaml(String token, int port, Path dir) {
    return """
        admin:
          enabled: true
          token: "%s"
          listen: "127.0.0.1:%d"
          db_path: "%s"
        """.formatted(token, port, dir.resolve("keys.db"));
  }

  /** A cluster of the members on these loopback ports. */
  static String clusterYaml(String name, int... memberPorts) {
    return """
        cluster:
          name: "%s"
          members: [%s]
        """.formatted(name, Arrays.stream(memberPorts).mapToObj(port -> "\"127.0.0.1:" + port + "\"")
        .collect(Collectors.joining(", ")));
  }

  static HttpResponse<String> chat(HttpClient client, int port, String key, String requestId)
      throws IOException, InterruptedException {
    // Longer than the proxy's auth timeout: a hang fails the test, a 503 from the timeout does not.
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(40))
            .header("Authorization", "Bearer " + key).header("X-Request-ID", requestId)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The status of a {@link #chat}, -1 when the proxy does not answer. */
  static int chatStatus(HttpClient client, int port, String key, String requestId) {
    try {
      return chat(client, port, key, requestId).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
