package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The whole gateway in this JVM, started as {@code Main} starts it: from a YAML file, every verticle deployed, with a
 * {@link MockLlmBackend} as its backend. The YAML names the gateway's address {@code {listen}} and the backend's URL
 * {@code {backend}}. Calls go through the JDK's HTTP client.
 */
final class RunningGateway implements AutoCloseable {

  /** The start of most tests' YAML: the gateway on {@code {listen}} in front of the mock backend. */
  static final String ON_THE_MOCK = """
      server:
        listen: "{listen}"
      backends:
        - url: "{backend}"
      """;

  /** Auth by the admin's builtin key store (keys made through the admin API); the admin token alone opens /admin/. */
  static final String BUILTIN_KEYS = """
      auth:
        enabled: true
        skip_paths: ["/health", "/ready", "/metrics", "/admin/"]
        pipeline:
          - name: builtin_auth
            type: builtin
      """;

  /** The static key of {@link #TEAM_A_AUTH}. */
  static final String TEAM_A_KEY = "sk-good-0123456789";

  /**
   * Auth by one static key, {@link #TEAM_A_KEY} of Team A (user alice). The YAML ends with the list of keys, so a
   * test may add keys after it (indented by ten spaces).
   */
  static final String TEAM_A_AUTH = """
      auth:
        enabled: true
        pipeline:
          - name: keys
            type: static
            static:
              keys:
                - key: "%s"
                  name: "Team A"
                  user_id: "alice"
      """.formatted(TEAM_A_KEY);

  final Vertx vertx;
  final MockLlmBackend backend;
  final Gateway gateway;
  final GatewayConfig config;
  final Path configFile;
  final int port;
  private final HttpClient http = HttpClient.newHttpClient();

  private RunningGateway(Vertx vertx, MockLlmBackend backend, Gateway gateway, GatewayConfig config, Path configFile,
      int port) {
    this.vertx = vertx;
    this.backend = backend;
    this.gateway = gateway;
    this.config = config;
    this.configFile = configFile;
    this.port = port;
  }

  static RunningGateway start(Path dir, String yaml) throws Exception {
    return start(dir, yaml, Map.of());
  }

  /** As {@link #start(Path, String)}, with {@code env} as the environment the config is read with. */
  static RunningGateway start(Path dir, String yaml, Map<String, String> env) throws Exception {
    int port = freePort();
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    Vertx vertx = Gateway.createVertx(registry, GatewayConfig.defaults().metrics());
    MockLlmBackend backend = await(MockLlmBackend.start(vertx, 0));
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, yaml.replace("{listen}", "127.0.0.1:" + port).replace("{backend}", backend.baseUrl()));
    LoadedConfig loaded = await(ConfigLoader.load(vertx, file.toString(), env));
    if (!loaded.ok()) {
      vertx.close();
      throw new IllegalArgumentException(String.join("\n", loaded.errors()));
    }
    Gateway gateway = await(Gateway.start(vertx, loaded.config(), registry, file.toString()), 30);
    return new RunningGateway(vertx, backend, gateway, loaded.config(), file, port);
  }

  /** The admin API on the gateway's own port with this token, its key store in {@code dir}. */
  static String adminYaml(String token, Path dir) {
    return """
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        """.formatted(token, dir.resolve("keys.db"));
  }

  HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
    return send(request(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
    return send(request(path, headers).GET());
  }

  /** A chat completion with this key as a bearer token (none when null). */
  HttpResponse<String> chat(String key, String body) throws IOException, InterruptedException {
    return key == null ? post("/v1/chat/completions", body)
        : post("/v1/chat/completions", body, "Authorization", "Bearer " + key);
  }

  private HttpRequest.Builder request(String path, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return request;
  }

  private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() throws Exception {
    try {
      await(gateway.stop(), 30);
    } finally {
      await(vertx.close());
    }
  }

  static <T> T await(Future<T> future) throws Exception {
    return await(future, 10);
  }

  static <T> T await(Future<T> future, int seconds) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }

  /**
   * A loopback port free now, below Linux's ephemeral range (32768-60999): a port from that range may be taken by
   * an outgoing connection before its server binds it (a cluster member dialling the member not yet started).
   */
  static int freePort() throws IOException {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = random.nextInt(20_000, 32_000);
      try (ServerSocket socket = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException taken) {
        // another one
      }
    }
    throw new IOException("no free loopback port between 20000 and 32000");
  }
}
