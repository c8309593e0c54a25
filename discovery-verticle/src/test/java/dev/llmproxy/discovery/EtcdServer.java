package dev.llmproxy.discovery;

import dev.llmproxy.testsupport.Poll;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * A real etcd (Debian's {@code etcd-server}) on loopback ports of its own, with its data in a temp folder; the
 * test writes keys through etcd's JSON gateway.
 */
final class EtcdServer implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  final int clientPort;
  private final int peerPort;
  private final Path dataDir;
  private final Path log;
  private Process process;
  private String token;

  EtcdServer(Path dataDir) throws Exception {
    this.clientPort = freePort();
    this.peerPort = freePort();
    this.dataDir = dataDir;
    this.log = Files.createTempFile("etcd", ".log");
  }

  /** The etcd binary, or null when it is not installed. */
  static String binary() {
    for (String dir : List.of("/usr/bin", "/usr/local/bin", "/usr/sbin")) {
      File file = new File(dir, "etcd");
      if (file.canExecute()) {
        return file.getPath();
      }
    }
    return null;
  }

  String url() {
    return "http://127.0.0.1:" + clientPort;
  }

  EtcdServer start() throws Exception {
    String peer = "http://127.0.0.1:" + peerPort;
    process = new ProcessBuilder(binary(), "--name", "test", "--data-dir", dataDir.toString(),
        "--listen-client-urls", url(), "--advertise-client-urls", url(),
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "test=" + peer)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!Poll.until(Duration.ofSeconds(30), this::healthy)) {
      throw new IllegalStateException("etcd did not start: " + Files.readString(log));
    }
    return this;
  }

  private boolean healthy() {
    try {
      HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      return answer.statusCode() == 200 && answer.body().contains("true");
    } catch (Exception e) {
      return false;
    }
  }

  void put(String key, String value) throws Exception {
    call("/v3/kv/put", "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}");
  }

  void delete(String key) throws Exception {
    call("/v3/kv/deleterange", "{\"key\":\"" + b64(key) + "\"}");
  }

  /** Turns authentication on with a root user; later writes of the test go with root's token. */
  void enableAuth(String password) throws Exception {
    call("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"" + password + "\"}");
    call("/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
    call("/v3/auth/enable", "{}");
    String answer = call("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"" + password + "\"}");
    token = new io.vertx.core.json.JsonObject(answer).getString("token");
  }

  private String call(String path, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url() + path)).POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", token);
    }
    HttpResponse<String> answer = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (answer.statusCode() != 200) {
      throw new IllegalStateException(path + ": " + answer.statusCode() + " " + answer.body());
    }
    return answer.body();
  }

  private static String b64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  void stop() throws Exception {
    if (process != null) {
      process.destroy();
      process.waitFor();
      process = null;
    }
  }

  @Override
  public void close() throws Exception {
    stop();
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
