package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import dev.llmproxy.usage.journal.JournalEntry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a real gateway process under load, with a webhook and a SQLite usage reporter: after the
 * restart, every record the journal acknowledged reaches both, the database once each, the webhook once each but
 * for at most the delivery under way when the process died (64 records with 16 in flight).
 */
@ExtendWith(VertxExtension.class)
class GatewayUsageCrashTest {

  private static final int MAX_REQUESTS = 3000;

  /**
   * batch_size 1: a POST per record; 20: batches of up to 20 records, a batch on its way when the process dies sent
   * again whole after the restart (the receiver dedupes by request id: each journaled id arrives, none is lost).
   */
  @ParameterizedTest(name = "webhook batch_size {0}")
  @ValueSource(ints = {1, 20})
  void killDashNineUnderLoadLosesNoAcknowledgedRecord(int batchSize, Vertx vertx, @TempDir Path dir) throws Exception {
    MockLlmBackend backend = MockLlmBackend.start(vertx, 0).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    // The receiver takes a few ms per record, so that a backlog waits in the journal when the process dies.
    List<String> received = new CopyOnWriteArrayList<>();
    HttpServer receiver = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> request.body().onSuccess(body -> vertx.setTimer(2, t -> {
          if (body.getByte(0) == '[') {
            body.toJsonArray().forEach(record -> received.add(((JsonObject) record).getString("request_id")));
          } else {
            received.add(body.toJsonObject().getString("request_id"));
          }
          request.response().end("ok");
        })))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    int port = freePort();
    Path journalDir = dir.resolve("journal");
    Path sqlite = dir.resolve("usage.db");
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, """
        server:
          listen: "127.0.0.1:%d"
        log:
          level: info
        backends:
          - name: mock
            url: "%s"
        storage:
          databases:
            - name: usage_db
              driver: sqlite
              path: "%s"
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: billing
              type: webhook
              webhook:
                url: "http://127.0.0.1:%d/usage"
                # a delivery that times out is sent again (at least once): not the repeat this test counts,
                # so a loaded machine gets time enough
                timeout: 20s
                batch_size: %d
            - name: db
              type: database
              database:
                storage: usage_db
        """.formatted(port, backend.baseUrl(), sqlite, journalDir, receiver.actualPort(), batchSize));
    Path log = dir.resolve("gateway.log");
    Process gateway = start(config, log, port);
    AtomicBoolean loading = new AtomicBoolean(true);
    Set<String> answered = ConcurrentHashMap.newKeySet();
    List<Thread> clients = new ArrayList<>();
    try {
      AtomicInteger sequence = new AtomicInteger();
      for (int c = 0; c < 4; c++) {
        Thread client = new Thread(() -> load(port, loading, sequence, answered), "load-" + c);
        client.start();
        clients.add(client);
      }
      // Mid-load, with deliveries under way and a backlog behind them.
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> received.size() >= 50 && answered.size() >= 1000),
          "webhook got " + received.size() + ", clients " + answered.size() + ": " + Files.readString(log));

      gateway.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
      assertTrue(gateway.waitFor(10, TimeUnit.SECONDS));
      loading.set(false);
      for (Thread client : clients) {
        client.join(10_000);
      }

      // What the dead process acknowledged is what its journal holds (a record is acknowledged after its fsync).
      Set<String> journaled = new HashSet<>();
      for (JournalEntry entry : Journal.readAll(journalDir)) {
        assertTrue(journaled.add(entry.record().getString("request_id")), "journaled twice: " + entry);
      }
      int deliveredBeforeKill = received.size();
      assertTrue(journaled.size() > deliveredBeforeKill - 1, "journal " + journaled.size());
      long answeredNotJournaled = answered.stream().filter(id -> !journaled.contains(id)).count();

      gateway = start(config, log, port);
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> received.containsAll(journaled)),
          "webhook missing " + journaled.stream().filter(id -> !received.contains(id)).limit(5).toList());
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> rows(sqlite, "*") == journaled.size()),
          "rows " + rows(sqlite, "*") + " of " + journaled.size());
      assertEquals(journaled.size(), rows(sqlite, "DISTINCT request_id"));
      assertEquals(journaled, Set.copyOf(received));
      Map<String, Long> counts = received.stream().collect(Collectors.groupingBy(Function.identity(),
          Collectors.counting()));
      long repeated = counts.values().stream().filter(n -> n > 1).count();
      // At most the delivery under way when the process died: 4 requests per in-flight slot, 16 slots, each request
      // of batch_size records.
      assertTrue(repeated <= 64L * batchSize && counts.values().stream().allMatch(n -> n <= 2),
          "repeated: " + repeated);
      System.out.printf("kill -9 after %d webhook deliveries: %d records journaled, %d answered to clients,"
              + " %d of those not journaled when the process died, %d delivered twice to the webhook%n",
          deliveredBeforeKill, journaled.size(), answered.size(), answeredNotJournaled, repeated);
    } finally {
      loading.set(false);
      gateway.destroyForcibly();
      backend.close();
    }
  }

  private static Process start(Path config, Path log, int port) throws Exception {
    Process gateway = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    HttpClient probe = HttpClient.newHttpClient();
    assertTrue(Poll.until(Duration.ofSeconds(60), () -> status(probe, port) == 200),
        "never ready: " + Files.readString(log));
    return gateway;
  }

  /** Requests until told to stop or {@link #MAX_REQUESTS} were made, so that the backlog stays bounded. */
  private static void load(int port, AtomicBoolean loading, AtomicInteger sequence, Set<String> answered) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    while (loading.get()) {
      int n = sequence.incrementAndGet();
      if (n > MAX_REQUESTS) {
        return;
      }
      String id = "crash-" + n;
      try {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .header("Content-Type", "application/json").header("X-Request-ID", id).timeout(Duration.ofSeconds(5))
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"max_tokens\":3}")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          answered.add(id);
        }
      } catch (IOException e) {
        // the process is gone: stop at the next check of the flag
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static long rows(Path sqlite, String what) {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + sqlite);
         ResultSet rs = connection.createStatement().executeQuery("SELECT COUNT(" + what + ") FROM usage_records")) {
      return rs.next() ? rs.getLong(1) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  private static int status(HttpClient client, int port) {
    try {
      return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
