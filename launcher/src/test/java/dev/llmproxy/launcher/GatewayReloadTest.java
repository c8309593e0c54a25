package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /admin/config/reload} on the whole gateway in one JVM: what the reply says has taken effect. */
class GatewayReloadTest {

  private static final String TOKEN = "admin-token-for-reload";
  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[]}";
  private static final int LOAD_CLIENTS = 4;

  private static String config(Path dir, String backend, String extra) {
    return """
        server:
          listen: "{listen}"
        backends:
          - name: first
            url: "%s"
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        usage:
          journal_path: "%s"
        auth:
          skip_paths: ["/health", "/ready", "/metrics", "/admin/"]
        %s
        """.formatted(backend, TOKEN, dir.resolve("keys.db"), dir.resolve("journal"), extra);
  }

  @Test
  void backendsSwappedUnderLoadWithoutAClientErrorAndAStreamOpenAcrossTheReloadArrivesWhole(@TempDir Path dir)
      throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", ""))) {
      MockLlmBackend second = RunningGateway.await(MockLlmBackend.start(gateway.vertx, 0));
      HttpClient streams = gateway.vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
          .setDefaultPort(gateway.port));
      CompletableFuture<String> stream = new CompletableFuture<>();
      CompletableFuture<Void> firstChunk = new CompletableFuture<>();
      StringBuilder received = new StringBuilder();
      streams.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
              .putHeader("X-Mock-Interval-Ms", "100").putHeader("X-Mock-Chunks", "30"))
          .compose(request -> request.send("{\"model\":\"mock\",\"stream\":true}"))
          .onSuccess(response -> {
            response.handler(chunk -> {
              received.append(chunk);
              firstChunk.complete(null);
            });
            response.endHandler(v -> stream.complete(received.toString()));
            response.exceptionHandler(stream::completeExceptionally);
          })
          .onFailure(stream::completeExceptionally);
      firstChunk.get(10, TimeUnit.SECONDS);

      AtomicBoolean loading = new AtomicBoolean(true);
      ExecutorService load = Executors.newFixedThreadPool(LOAD_CLIENTS);
      List<Future<List<Integer>>> clients = new ArrayList<>();
      for (int i = 0; i < LOAD_CLIENTS; i++) {
        clients.add(load.submit(() -> {
          List<Integer> statuses = new ArrayList<>();
          while (loading.get()) {
            statuses.add(gateway.chat(null, CHAT).statusCode());
          }
          return statuses;
        }));
      }
      try {
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> gateway.backend.completions() > 20));
        // The backend moves, and a proxy field changes too: the proxies switch to a new context under load.
        Files.writeString(gateway.configFile, Files.readString(gateway.configFile)
            .replace(gateway.backend.baseUrl(), second.baseUrl()) + "routing:\n  timeout: 41s\n");
        HttpResponse<String> reloaded = admin(gateway, "/admin/config/reload");
        assertEquals(200, reloaded.statusCode(), reloaded.body());
        JsonObject outcome = new JsonObject(reloaded.body()).getJsonObject("data");
        assertEquals(2, outcome.getLong("version"), reloaded.body());
        assertTrue(outcome.getJsonArray("applied").contains("discovery"), reloaded.body());
        assertTrue(outcome.getJsonArray("applied").contains("proxy"), reloaded.body());

        // Requests the old backend had begun when the reply left may still end there (at most one per load client);
        // no request sent after the reply reaches it.
        int firstAfterReload = gateway.backend.completions();
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> second.completions() > 20), "the new backend gets traffic");
        assertTrue(gateway.backend.completions() <= firstAfterReload + LOAD_CLIENTS,
            "no new request reaches the removed backend once the reload has answered: "
                + (gateway.backend.completions() - firstAfterReload) + " ended there after the reply");
      } finally {
        loading.set(false);
      }
      List<Integer> statuses = new ArrayList<>();
      for (Future<List<Integer>> client : clients) {
        statuses.addAll(client.get(30, TimeUnit.SECONDS));
      }
      load.shutdown();
      assertTrue(statuses.size() > 40, "load ran: " + statuses.size());
      assertTrue(statuses.stream().allMatch(s -> s == 200), "every request succeeded: " + statuses.stream()
          .filter(s -> s != 200).toList());

      String whole = stream.get(30, TimeUnit.SECONDS);
      assertEquals(30, whole.split("\"delta\"", -1).length - 1, whole);
      assertTrue(whole.contains("[DONE]"), whole);

      HttpResponse<String> shown = gateway.get("/admin/config", "X-Admin-Token", TOKEN);
      assertTrue(shown.body().contains(second.baseUrl()), "/admin/config shows the config that runs: " + shown.body());
      String metrics = gateway.get("/metrics").body();
      assertTrue(metrics.contains("llmproxy_config_version 2.0"), metrics);
      assertTrue(metrics.contains("llmproxy_config_reloads_total{result=\"applied\"} 1.0"), metrics);
      second.close();
    }
  }

  @Test
  void aKeyRemovedByAReloadIsRefusedAtOnce(@TempDir Path dir) throws Exception {
    String keys = """
        auth:
          enabled: true
          skip_paths: ["/health", "/ready", "/metrics", "/admin/"]
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: sk-stays-1111
                    name: stays
                  - key: sk-leaves-2222
                    name: leaves
        """;
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", "").replace(
        "auth:\n  skip_paths: [\"/health\", \"/ready\", \"/metrics\", \"/admin/\"]\n", keys))) {
      assertEquals(200, gateway.chat("sk-leaves-2222", CHAT).statusCode());
      assertEquals(200, gateway.chat("sk-leaves-2222", CHAT).statusCode(), "now a cached decision");

      Files.writeString(gateway.configFile, Files.readString(gateway.configFile)
          .replace("          - key: sk-leaves-2222\n            name: leaves\n", ""));
      HttpResponse<String> reloaded = admin(gateway, "/admin/config/reload");
      assertEquals(200, reloaded.statusCode(), reloaded.body());
      JsonObject keysOutcome = new JsonObject(reloaded.body()).getJsonObject("data");
      assertTrue(keysOutcome.getJsonArray("applied").contains("auth"), reloaded.body());
      assertTrue(keysOutcome.getJsonArray("restart_required").encode().contains("quota charging"), reloaded.body());

      for (int i = 0; i < 8; i++) { // every proxy instance (one per event loop) refuses it
        assertEquals(401, gateway.chat("sk-leaves-2222", CHAT).statusCode());
        assertEquals(200, gateway.chat("sk-stays-1111", CHAT).statusCode());
      }
    }
  }

  /** Issue 17: fault_injection is switched on and off by a reload, on every proxy instance, and says so. */
  @Test
  void faultInjectionIsSwitchedOnAndOffByAReload(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", ""))) {
      String good = Files.readString(gateway.configFile);
      assertEquals(200, gateway.chat(null, CHAT).statusCode());
      Files.writeString(gateway.configFile, good + """
          fault_injection:
            enabled: true
            faults:
              - name: all-down
                abort: {status: 503}
          routing:
            retry: {enabled: false}
          """);
      HttpResponse<String> on = admin(gateway, "/admin/config/reload");
      assertEquals(200, on.statusCode(), on.body());
      assertTrue(on.body().contains("fault_injection.enabled: ON: faults are injected into live traffic: all-down"),
          "the reply carries the warning: " + on.body());
      for (int i = 0; i < 8; i++) { // every proxy instance (one per event loop) injects it
        HttpResponse<String> aborted = gateway.chat(null, CHAT);
        assertEquals(503, aborted.statusCode());
        assertTrue(aborted.body().contains("fault_injected"), aborted.body());
      }
      assertEquals(200, gateway.get("/health").statusCode(), "never the gateway's own endpoints");
      Files.writeString(gateway.configFile, good);
      assertEquals(200, admin(gateway, "/admin/config/reload").statusCode());
      for (int i = 0; i < 8; i++) {
        assertEquals(200, gateway.chat(null, CHAT).statusCode());
      }
    }
  }

  @Test
  void prefixAwareRoutingIsSwitchedOnByAReload(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", ""))) {
      MockLlmBackend second = RunningGateway.await(MockLlmBackend.start(gateway.vertx, 0));
      String firstUrl = gateway.backend.baseUrl();
      String good = Files.readString(gateway.configFile).replace("url: \"" + firstUrl + "\"\n",
          "url: \"" + firstUrl + "\"\n  - name: second\n    url: \"" + second.baseUrl() + "\"\n");
      Files.writeString(gateway.configFile, good);
      assertEquals(200, admin(gateway, "/admin/config/reload").statusCode());
      String sameSystemPrompt = "{\"model\":\"mock\",\"messages\":[{\"role\":\"system\",\"content\":\""
          + "You help with invoices. ".repeat(40) + "\"},{\"role\":\"user\",\"content\":\"question %d\"}]}";
      // round_robin: one system prompt is spread over both backends.
      for (int i = 0; i < 8; i++) {
        assertEquals(200, gateway.chat(null, sameSystemPrompt.formatted(i)).statusCode());
      }
      assertTrue(gateway.backend.completions() > 0 && second.completions() > 0, "round robin did not spread");
      Files.writeString(gateway.configFile, good + """
          routing:
            load_balance: prefix_aware
            prefix_aware: {prefix_chars: 512, load_factor: 1.5}
          """);
      HttpResponse<String> reloaded = admin(gateway, "/admin/config/reload");
      assertEquals(200, reloaded.statusCode(), reloaded.body());
      int firstBefore = gateway.backend.completions();
      int secondBefore = second.completions();
      // Every proxy instance (one per event loop) sends the prefix to the same backend.
      for (int i = 0; i < 16; i++) {
        assertEquals(200, gateway.chat(null, sameSystemPrompt.formatted(100 + i)).statusCode());
      }
      int toFirst = gateway.backend.completions() - firstBefore;
      int toSecond = second.completions() - secondBefore;
      assertTrue(toFirst == 16 && toSecond == 0 || toFirst == 0 && toSecond == 16,
          "after the reload one prefix was spread: " + toFirst + " / " + toSecond);
      HttpResponse<String> config = gateway.get("/admin/config", "X-Admin-Token", TOKEN);
      assertTrue(config.body().contains("\"prefix_aware\":{\"prefix_chars\":512,\"load_factor\":1.5}"), config.body());
    }
  }

  @Test
  void aBrokenFileChangesNothingAndRestartOnlyFieldsAreNamed(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", ""))) {
      String good = Files.readString(gateway.configFile);
      Files.writeString(gateway.configFile, good.replace(gateway.backend.baseUrl(), "http://127.0.0.1:1")
          + "routing:\n  retry:\n    max_retries: -1\n");
      HttpResponse<String> refused = admin(gateway, "/admin/config/reload");
      assertEquals(400, refused.statusCode(), refused.body());
      JsonObject body = new JsonObject(refused.body());
      assertFalse(body.getBoolean("success"));
      assertTrue(body.getJsonArray("errors").encode().contains("routing.retry.max_retries"), refused.body());
      assertEquals(200, gateway.chat(null, CHAT).statusCode(), "still served by the running config");
      assertTrue(gateway.get("/admin/config", "X-Admin-Token", TOKEN).body().contains(gateway.backend.baseUrl()));
      String metrics = gateway.get("/metrics").body();
      assertTrue(metrics.contains("llmproxy_config_version 1.0"), metrics);
      assertTrue(metrics.contains("llmproxy_config_reloads_total{result=\"invalid\"} 1.0"), metrics);

      int port = RunningGateway.freePort();
      Files.writeString(gateway.configFile, good.replace("listen: \"127.0.0.1:" + gateway.port + "\"",
          "listen: \"127.0.0.1:" + port + "\"") + "routing:\n  timeout: 40s\n");
      HttpResponse<String> partly = admin(gateway, "/admin/config/reload");
      assertEquals(200, partly.statusCode(), partly.body());
      JsonObject outcome = new JsonObject(partly.body()).getJsonObject("data");
      assertEquals(List.of("server.listen"), outcome.getJsonArray("restart_required").getList(), partly.body());
      assertTrue(new JsonObject(partly.body()).getString("message").contains("restart"), partly.body());
      JsonObject shown = new JsonObject(gateway.get("/admin/config", "X-Admin-Token", TOKEN).body()).getJsonObject("data");
      assertEquals("127.0.0.1:" + gateway.port, shown.getJsonObject("server").getString("listen"),
          "/admin/config shows the address that is still bound");
      assertEquals("40s", shown.getJsonObject("routing").getString("timeout"));
      assertEquals(200, gateway.chat(null, CHAT).statusCode());
    }
  }

  /**
   * The usage verticle is never replaced while requests flow (a record sent as its consumer leaves would be
   * discarded): a changed usage section waits for a restart, says so, and every answered request is stored once.
   */
  @Test
  void aUsageChangeUnderLoadWaitsForARestartAndLosesNoRecord(@TempDir Path dir) throws Exception {
    Path sqlite = dir.resolve("usage.db");
    String reporter = """
        storage:
          databases:
            - name: usage_db
              driver: sqlite
              path: "%s"
        """.formatted(sqlite);
    String yaml = config(dir, "{backend}", reporter).replace("  journal_path:", "  enabled: true\n  journal_path:")
        .replace("\nauth:", "\n  reporters:\n    - name: db\n      type: database\n      database:\n"
            + "        storage: usage_db\nauth:");
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      AtomicBoolean loading = new AtomicBoolean(true);
      AtomicInteger sequence = new AtomicInteger();
      Set<String> answered = ConcurrentHashMap.newKeySet();
      ExecutorService load = Executors.newFixedThreadPool(LOAD_CLIENTS);
      List<Future<?>> clients = new ArrayList<>();
      for (int i = 0; i < LOAD_CLIENTS; i++) {
        clients.add(load.submit(() -> {
          while (loading.get()) {
            String id = "reload-" + sequence.incrementAndGet();
            try {
              if (gateway.post("/v1/chat/completions", CHAT, "X-Request-ID", id).statusCode() == 200) {
                answered.add(id);
              }
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
          return null;
        }));
      }
      try {
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> answered.size() > 50));
        Files.writeString(gateway.configFile, Files.readString(gateway.configFile)
            .replace("  enabled: true\n  journal_path:", "  enabled: true\n  journal_fsync_interval: 20ms\n  journal_path:"));
        HttpResponse<String> reloaded = admin(gateway, "/admin/config/reload");
        assertEquals(200, reloaded.statusCode(), reloaded.body());
        JsonObject outcome = new JsonObject(reloaded.body()).getJsonObject("data");
        assertEquals(List.of("usage"), outcome.getJsonArray("restart_required").getList(), reloaded.body());
        assertEquals(List.of(), outcome.getJsonArray("applied").getList(), reloaded.body());
        int atReload = answered.size();
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> answered.size() > atReload + 50), "load went on");
      } finally {
        loading.set(false);
      }
      for (Future<?> client : clients) {
        client.get(30, TimeUnit.SECONDS);
      }
      load.shutdown();
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> rows(sqlite, "*") == answered.size()),
          "rows " + rows(sqlite, "*") + " of " + answered.size() + " answered");
      assertEquals(answered.size(), rows(sqlite, "DISTINCT request_id"), "each record stored once");
    }
  }

  /** {@code reload.watch}: a changed file is reloaded as SIGHUP would; a broken one is refused and changes nothing. */
  @Test
  void theFileWatcherReloadsAChangedFileAndRefusesABrokenOne(@TempDir Path dir) throws Exception {
    String watched = config(dir, "{backend}", "reload:\n  watch: true\n  scan_period: 200ms\n");
    try (RunningGateway gateway = RunningGateway.start(dir, watched)) {
      MockLlmBackend second = RunningGateway.await(MockLlmBackend.start(gateway.vertx, 0));
      String good = Files.readString(gateway.configFile);
      Files.writeString(gateway.configFile, good.replace(gateway.backend.baseUrl(), second.baseUrl())
          + "routing:\n  retry:\n    max_retries: -1\n");
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> metrics(gateway)
          .contains("llmproxy_config_reloads_total{result=\"invalid\"} 1.0")), "the watcher saw the broken file");
      assertEquals(200, gateway.chat(null, CHAT).statusCode());
      assertEquals(0, second.completions(), "a broken file changes nothing");
      assertTrue(gateway.get("/metrics").body().contains("llmproxy_config_version 1.0"));

      Files.writeString(gateway.configFile, good.replace(gateway.backend.baseUrl(), second.baseUrl()));
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> metrics(gateway)
          .contains("llmproxy_config_version 2.0")), "the watcher applied the changed file");
      assertTrue(Poll.until(Duration.ofSeconds(10), () -> {
        try {
          return gateway.chat(null, CHAT).statusCode() == 200 && second.completions() > 0;
        } catch (Exception e) {
          return false;
        }
      }), "the reloaded backend serves");
      assertTrue(gateway.get("/metrics").body().contains("llmproxy_config_reloads_total{result=\"applied\"} 1.0"));
      second.close();
    }
  }

  /**
   * Reloads are ordered by one lock (cluster-wide in a cluster, local here): while another reload holds it past
   * {@code reload.lock_timeout}, a reload is refused with 409 {@code reload_in_progress} and changes nothing; once it
   * is free, the same reload runs.
   */
  @Test
  void aReloadThatCannotGetTheReloadLockInTimeIsRefusedWith409AndChangesNothing(@TempDir Path dir) throws Exception {
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, "{backend}", "reload:\n  lock_timeout: 1s\n"))) {
      Files.writeString(gateway.configFile, Files.readString(gateway.configFile) + "routing:\n  timeout: 41s\n");
      io.vertx.core.shareddata.Lock held = RunningGateway.await(
          gateway.vertx.sharedData().getLockWithTimeout(Gateway.RELOAD_LOCK, 10_000));
      try {
        HttpResponse<String> refused = admin(gateway, "/admin/config/reload");
        assertEquals(409, refused.statusCode(), refused.body());
        JsonObject body = new JsonObject(refused.body());
        assertEquals("reload_in_progress", body.getString("code"), refused.body());
        assertTrue(body.getString("error").contains("reload.lock_timeout"), refused.body());
        assertEquals(1, gateway.gateway.version(), "nothing changed");
      } finally {
        held.release();
      }
      HttpResponse<String> reloaded = admin(gateway, "/admin/config/reload");
      assertEquals(200, reloaded.statusCode(), reloaded.body());
      assertEquals(2, new JsonObject(reloaded.body()).getJsonObject("data").getLong("version"), reloaded.body());
    }
  }

  private static String metrics(RunningGateway gateway) {
    try {
      return gateway.get("/metrics").body();
    } catch (Exception e) {
      return "";
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

  private static HttpResponse<String> admin(RunningGateway gateway, String path) throws Exception {
    return gateway.post(path, "", "X-Admin-Token", TOKEN);
  }
}
