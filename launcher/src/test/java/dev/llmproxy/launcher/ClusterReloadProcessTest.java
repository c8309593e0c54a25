package dev.llmproxy.launcher;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A reload asked for on one member applies on every member, all or nothing: two member JVMs on loopback, the proxy
 * alone in one (working in a directory of its own), auth, discovery, usage and admin in the other. A broken file
 * changes nothing anywhere; a config the proxy member cannot apply (a routing script its working directory lacks)
 * puts the services member, which had applied it, back; SIGHUP on the proxy member moves the backends, which the
 * services member's discovery owns, and the proxy member's traffic follows.
 */
@ExtendWith(VertxExtension.class)
class ClusterReloadProcessTest {

  private static final String TOKEN = "admin-token-0123456789";
  private static final String KEY = "sk-reload-0123456789";

  @Test
  void aReloadOnOneMemberAppliesOnEveryMemberOrOnNone(Vertx vertx, @TempDir Path dir) throws Exception {
    int proxyPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    int servicesCluster = RunningGateway.freePort();
    int proxyCluster = RunningGateway.freePort();
    Path servicesDir = Files.createDirectories(dir.resolve("services"));
    Path proxyDir = Files.createDirectories(dir.resolve("proxy"));
    // Only the services member has the script: it validates the file, the proxy member cannot apply it.
    Files.writeString(servicesDir.resolve("route.lua"), "-- the balancer's choice stands\n");
    Path config = dir.resolve("config.yaml");
    String base = GatewayProcesses.gatewayYaml(proxyPort, "{backend}")
        + GatewayProcesses.adminYaml(TOKEN, adminPort, dir)
        + "usage:\n  journal_path: \"" + dir.resolve("journal") + "\"\n"
        + GatewayProcesses.clusterYaml("reload-test-" + proxyPort, servicesCluster, proxyCluster);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Path servicesLog = dir.resolve("services.log");
    Path proxyLog = dir.resolve("proxy.log");
    try (MockLlmBackend first = RunningGateway.await(MockLlmBackend.start(vertx, 0));
         MockLlmBackend second = RunningGateway.await(MockLlmBackend.start(vertx, 0));
         GatewayProcesses processes = new GatewayProcesses()) {
      Files.writeString(config, base.replace("{backend}", first.baseUrl()));
      processes.member(config, "auth,discovery,usage,admin", servicesCluster, servicesLog, servicesDir, Map.of());
      GatewayProcesses.awaitJoined(servicesLog);
      Process proxy = processes.member(config, "proxy", proxyCluster, proxyLog, proxyDir, Map.of());
      GatewayProcesses.awaitReady(http, proxyPort, proxyLog, servicesLog);
      assertEquals(200, GatewayProcesses.chat(http, proxyPort, KEY, "r-1").statusCode());
      assertEquals(1, first.completions());

      // A broken file: refused with its errors by path, nothing changes on either member.
      Files.writeString(config, base.replace("{backend}", second.baseUrl())
          + "routing:\n  retry:\n    max_retries: -1\n");
      HttpResponse<String> refused = reload(http, adminPort);
      assertEquals(400, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("routing.retry.max_retries"), refused.body());
      assertEquals(200, GatewayProcesses.chat(http, proxyPort, KEY, "r-2").statusCode());
      assertEquals(0, second.completions(), "the broken file's backend is never used");
      assertEquals(List.of(1L, 1L), versions(http, adminPort));

      // A file the proxy member cannot apply: the services member had moved discovery to the second backend and
      // goes back; the reply names the member that failed and why.
      Files.writeString(config, base.replace("{backend}", second.baseUrl())
          + "routing:\n  script:\n    enabled: true\n    path: \"route.lua\"\n");
      HttpResponse<String> failed = reload(http, adminPort);
      assertEquals(500, failed.statusCode(), failed.body());
      JsonObject failure = new JsonObject(failed.body());
      assertTrue(failure.getString("error").contains("(proxy)"), failed.body());
      assertTrue(failure.getString("error").contains("routing.script"), failed.body());
      JsonArray members = failure.getJsonArray("members");
      assertEquals(2, members.size(), failed.body());
      JsonObject services = member(members, "discovery");
      assertTrue(services.getBoolean("ok") && services.getJsonArray("applied").contains("discovery"), failed.body());
      assertEquals(Boolean.TRUE, services.getBoolean("rolled_back"), "the services member went back: " + failed.body());
      assertFalse(member(members, "proxy").getBoolean("ok"), failed.body());
      assertEquals(List.of(1L, 1L), versions(http, adminPort));
      assertTrue(showsBackend(http, adminPort, first.baseUrl()), "/admin/config shows what runs");
      // Traffic is on the first backend again: once a request lands there, none reaches the second.
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> {
        int before = first.completions();
        return chatStatus(http, proxyPort, "r-3") == 200 && first.completions() > before;
      }), "the proxy member is back on the first backend");
      int onSecond = second.completions();
      for (int i = 0; i < 5; i++) {
        assertEquals(200, GatewayProcesses.chat(http, proxyPort, KEY, "r-4-" + i).statusCode());
      }
      assertEquals(onSecond, second.completions(), "after the roll-back no request reaches the second backend");

      // SIGHUP on the proxy member: it coordinates, the services member's discovery moves to the second backend,
      // the proxy member applies its own part (routing.timeout) and its traffic follows.
      Files.writeString(config, base.replace("{backend}", second.baseUrl()) + "routing:\n  timeout: 41s\n");
      new ProcessBuilder("kill", "-HUP", Long.toString(proxy.pid())).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(Poll.until(Duration.ofSeconds(120), () -> GatewayProcessTest.read(proxyLog).contains("SIGHUP reload")),
          "no reload outcome: " + GatewayProcessTest.read(proxyLog));
      String line = GatewayProcessTest.read(proxyLog).lines().filter(l -> l.contains("SIGHUP reload")).findFirst()
          .orElseThrow();
      assertTrue(line.contains("SIGHUP reload applied"), line);
      String message = new JsonObject(line).getString("message"); // the log is JSON (logstash), one event a line
      JsonObject outcome = new JsonObject(message.substring(message.indexOf("applied: ") + "applied: ".length()));
      assertEquals(2L, outcome.getLong("version"), line);
      assertTrue(outcome.getJsonArray("applied").contains("discovery"), line);
      assertTrue(outcome.getJsonArray("applied").contains("proxy"), line);
      assertEquals(List.of(), outcome.getJsonArray("restart_required").getList(),
          "each member keeps its own cluster port and roles: " + line);
      int onFirst = first.completions();
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> {
        int before = second.completions();
        return chatStatus(http, proxyPort, "r-5") == 200 && second.completions() > before;
      }), "the proxy member's traffic moves to the second backend");
      assertEquals(onFirst, first.completions(), "the first backend gets no request once the second is in use");
      assertEquals(List.of(2L, 2L), versions(http, adminPort));
      assertTrue(showsBackend(http, adminPort, second.baseUrl()));
    }
  }

  private static HttpResponse<String> reload(HttpClient http, int adminPort) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/config/reload"))
            .timeout(Duration.ofSeconds(150)).header("X-Admin-Token", TOKEN)
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonObject admin(HttpClient http, int adminPort, String path) throws Exception {
    return new JsonObject(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
        .header("X-Admin-Token", TOKEN).build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  /** The config version each member runs, as {@code /admin/status} lists them. */
  private static List<Long> versions(HttpClient http, int adminPort) throws Exception {
    JsonObject status = admin(http, adminPort, "/admin/status");
    return status.getJsonObject("data").getJsonArray("members").stream()
        .map(m -> ((JsonObject) m).getLong("config_version")).toList();
  }

  private static boolean showsBackend(HttpClient http, int adminPort, String url) throws Exception {
    return admin(http, adminPort, "/admin/config").getJsonObject("data").getJsonArray("backends").stream()
        .anyMatch(b -> url.equals(((JsonObject) b).getString("url")));
  }

  private static JsonObject member(JsonArray members, String role) {
    return members.stream().map(JsonObject.class::cast).filter(m -> m.getJsonArray("roles").contains(role))
        .findFirst().orElseThrow(() -> new AssertionError("no member with " + role + ": " + members.encode()));
  }

  private static int chatStatus(HttpClient http, int port, String requestId) {
    return GatewayProcesses.chatStatus(http, port, KEY, requestId);
  }
}
