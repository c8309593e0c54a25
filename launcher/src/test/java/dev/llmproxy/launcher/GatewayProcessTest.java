package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gateway as users run it: its own JVM, started from the command line, stopped with SIGTERM. */
@ExtendWith(VertxExtension.class)
class GatewayProcessTest {

  @Test
  void sigtermLetsTheRunningStreamFinishHandsOverItsUsageAndExitsZero(Vertx vertx, @TempDir Path dir) throws Exception {
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    int port = freePort();
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:%d"
          shutdown_timeout: 20s
        log:
          level: info
        backends:
          - name: mock
            url: "%s"
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: store
              type: builtin
        """.formatted(port, backend.baseUrl(), dir.resolve("journal"))
        + RunningGateway.adminYaml("admin-token-for-the-drain", dir));
    Path log = dir.resolve("gateway.log");
    Process gateway = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      java.net.http.HttpClient probe = java.net.http.HttpClient.newHttpClient();
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> status(probe, port, "/ready") == 200),
          "never ready: " + Files.readString(log));

      HttpClient client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
      CompletableFuture<Void> firstChunk = new CompletableFuture<>();
      CompletableFuture<String> wholeStream = new CompletableFuture<>();
      StringBuilder received = new StringBuilder();
      client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
              .putHeader("X-Mock-Interval-Ms", "150"))
          .compose(request -> request.send("{\"model\":\"mock\",\"stream\":true,\"max_tokens\":10}"))
          .onSuccess(response -> {
            response.handler(chunk -> {
              received.append(chunk);
              firstChunk.complete(null);
            });
            response.endHandler(v -> wholeStream.complete(received.toString()));
            response.exceptionHandler(wholeStream::completeExceptionally);
          })
          .onFailure(wholeStream::completeExceptionally);
      firstChunk.get(10, TimeUnit.SECONDS);

      gateway.destroy();

      assertTrue(Poll.until(Duration.ofSeconds(5), () -> !accepts(port)), "still accepting connections while draining");
      String stream = wholeStream.get(20, TimeUnit.SECONDS);
      assertEquals(10, stream.split("\"delta\"", -1).length - 1, stream);
      assertTrue(stream.endsWith("data: [DONE]\n\n"), stream);
      assertTrue(gateway.waitFor(30, TimeUnit.SECONDS), "did not exit");
      assertEquals(0, gateway.exitValue(), Files.readString(log));
      String output = Files.readString(log);
      assertTrue(output.contains("usage verticle stopping after 1 record(s)"), output);
    } finally {
      gateway.destroyForcibly();
      backend.close();
    }
  }

  @Test
  void sighupReloadsTheConfigFile(Vertx vertx, @TempDir Path dir) throws Exception {
    MockLlmBackend first = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    MockLlmBackend second = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    int port = freePort();
    Path config = dir.resolve("config.yaml");
    String yaml = """
        server:
          listen: "127.0.0.1:%d"
        usage:
          journal_path: "%s"
        backends:
          - name: mock
            url: "%s"
        """;
    Files.writeString(config, yaml.formatted(port, dir.resolve("journal"), first.baseUrl()));
    Path log = dir.resolve("gateway.log");
    Process gateway = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      java.net.http.HttpClient probe = java.net.http.HttpClient.newHttpClient();
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> status(probe, port, "/ready") == 200),
          "never ready: " + Files.readString(log));
      assertEquals(200, chat(probe, port));
      assertEquals(1, first.completions());
      // Netty's pooled allocator unless the operator chose another (Main.ALLOCATOR_PROPERTY): what Netty made.
      assertTrue(read(log).contains("(Netty allocator: PooledByteBufAllocator)"), read(log));

      Files.writeString(config, yaml.formatted(port, dir.resolve("journal"), second.baseUrl()));
      new ProcessBuilder("kill", "-HUP", Long.toString(gateway.pid())).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> read(log).contains("SIGHUP reload applied")),
          "no reload: " + Files.readString(log));
      assertEquals(200, chat(probe, port));
      assertEquals(1, second.completions(), "served by the backend of the reloaded file");
      assertEquals(1, first.completions());
      assertTrue(gateway.isAlive(), "SIGHUP does not stop the gateway");
    } finally {
      gateway.destroyForcibly();
      first.close();
      second.close();
    }
  }

  /** The file's text so far, empty when it cannot be read (yet). */
  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "";
    }
  }

  private static int chat(java.net.http.HttpClient client, int port) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** The status of a GET, -1 when the gateway does not answer. */
  static int status(java.net.http.HttpClient client, int port, String path) {
    try {
      return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static boolean accepts(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
