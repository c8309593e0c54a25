package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import java.util.HashMap;
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
 * for what lay past its cursor as last saved (sent again once: at least once, deduplicated by the receiver).
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
    int port = RunningGateway.freePort();
    Path journalDir = dir.resolve("journal");
    Path sqlite = dir.resolve("usage.db");
    Path config = dir.resolve("config.yaml");
    Files.writeString(config, GatewayProcesses.gatewayYaml(port, backend.baseUrl()) + """
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
        """.formatted(sqlite, journalDir, receiver.actualPort(), batchSize));
    Path log = dir.resolve("gateway.log");
    HttpClient probe = HttpClient.newHttpClient();
    AtomicBoolean loading = new AtomicBoolean(true);
    Set<String> answered = ConcurrentHashMap.newKeySet();
    List<Thread> clients = new ArrayList<>();
    try (GatewayProcesses processes = new GatewayProcesses()) {
      Process gateway = processes.gateway(config, log);
      GatewayProcesses.awaitReady(probe, port, log);
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
      Map<String, Long> journaledAt = new HashMap<>();
      for (JournalEntry entry : Journal.readAll(journalDir)) {
        assertNull(journaledAt.put(entry.record().getString("request_id"), entry.seq()), "journaled twice: " + entry);
      }
      Set<String> journaled = journaledAt.keySet();
      // The webhook's cursor as the dead process last saved it: the restart delivers from there.
      long savedCursor = Journal.peekCursor(journalDir, "reporter-billing");
      assertTrue(savedCursor > 1, "the webhook's cursor was never saved: " + savedCursor);
      int deliveredBeforeKill = received.size();
      assertTrue(journaled.size() > deliveredBeforeKill - 1, "journal " + journaled.size());
      long answeredNotJournaled = answered.stream().filter(id -> !journaled.contains(id)).count();

      processes.gateway(config, log);
      GatewayProcesses.awaitReady(probe, port, log);
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> received.containsAll(journaled)),
          "webhook missing " + journaled.stream().filter(id -> !received.contains(id)).limit(5).toList());
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> rows(sqlite, "*") == journaled.size()),
          "rows " + rows(sqlite, "*") + " of " + journaled.size());
      assertEquals(journaled.size(), rows(sqlite, "DISTINCT request_id"));
      assertEquals(journaled, Set.copyOf(received));
      Map<String, Long> counts = received.stream().collect(Collectors.groupingBy(Function.identity(),
          Collectors.counting()));
      long repeated = counts.values().stream().filter(n -> n > 1).count();
      // Sent again after the restart: only what lay at or past the saved cursor (delivered, or on its way, after the
      // dead process last saved it: how many depends on how fast its saves kept up, so no count is asserted), and
      // each of those at most once more.
      List<String> repeatedBelowCursor = counts.entrySet().stream()
          .filter(e -> e.getValue() > 1 && journaledAt.get(e.getKey()) < savedCursor).map(Map.Entry::getKey).toList();
      assertTrue(repeatedBelowCursor.isEmpty(), "sent again though below the saved cursor " + savedCursor + ": "
          + repeatedBelowCursor.stream().limit(5).toList());
      assertTrue(counts.values().stream().allMatch(n -> n <= 2), "a record arrived three times or more: " + counts);
      System.out.printf("kill -9 after %d webhook deliveries: %d records journaled, %d answered to clients,"
              + " %d of those not journaled when the process died, %d delivered twice to the webhook (cursor %d)%n",
          deliveredBeforeKill, journaled.size(), answered.size(), answeredNotJournaled, repeated, savedCursor);
    } finally {
      loading.set(false);
      backend.close();
    }
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

}
