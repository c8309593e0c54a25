package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What deploy/ ships is checked against a running gateway with the real tools operators use: Debian's
 * {@code promtool} checks and unit-tests the alert rules and checks a scrape of {@code /metrics}; every metric the
 * Grafana dashboard or a rule names must be in that scrape; Debian's {@code prometheus} scrapes the gateway with the
 * rules loaded and answers {@code up} and {@code llmproxy_requests_total}. {@code dev/services.sh} installs both
 * tools. {@link ComposeFilesTest} checks docker-compose.yml against conf/.
 */
class DeployFilesTest {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path RULES = ROOT.resolve("deploy/prometheus/alerts.yml");
  static final Path DASHBOARD = ROOT.resolve("deploy/grafana/dashboards/llmproxy.json");
  private static final Pattern METRIC = Pattern.compile("\\b((?:llmproxy|jvm|process)_[a-z0-9_]+)");
  /**
   * The names {@code promtool check metrics} may complain about: seed 004's {@code llmproxy_latency_ms} and our
   * earlier {@code llmproxy_ttft_ms} (kept for existing dashboards, with {@code _seconds} twins), and meters of
   * Micrometer's JVM binders, which are not ours to rename.
   */
  private static final Set<String> ALLOWED_COMPLAINTS = Set.of("llmproxy_latency_ms", "llmproxy_latency_ms_max",
      "llmproxy_ttft_ms", "llmproxy_ttft_ms_max", "jvm_compilation_time_ms_total", "process_cpu_time_ns_total",
      "system_cpu_count");

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String STREAM = "{\"model\":\"mock\",\"max_tokens\":5,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void promtoolChecksTheRulesAndTheirUnitTestsPass() throws Exception {
    Result check = run(ROOT.resolve("deploy/prometheus"), "promtool", "check", "rules", "alerts.yml");
    assertEquals(0, check.exit(), check.output());
    assertTrue(check.output().contains("SUCCESS: 10 rules found"), check.output());
    Result test = run(ROOT.resolve("deploy/prometheus"), "promtool", "test", "rules", "alerts.test.yml");
    assertEquals(0, test.exit(), test.output());
    // Every alert has a unit test that makes it fire.
    String tests = Files.readString(ROOT.resolve("deploy/prometheus/alerts.test.yml"));
    for (String alert : alertNames()) {
      assertTrue(Pattern.compile("alertname: " + alert + "\\n\\s+exp_alerts:\\n\\s+- exp_labels").matcher(tests).find(),
          alert + " has a test in which it fires");
    }
  }

  @Test
  void aRunningGatewayExportsEveryMetricOfTheDashboardAndRulesAndPrometheusScrapesIt(@TempDir Path dir)
      throws Exception {
    int deadPort = RunningGateway.freePort();
    int deadWebhook = RunningGateway.freePort();
    String yaml = """
        server:
          listen: "{listen}"
        backends:
          - name: mock
            url: "{backend}"
          - name: gone
            url: "http://127.0.0.1:%d"
        health_check:
          enabled: false
        rate_limit:
          enabled: true
          global:
            requests_per_minute: 100000
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: billing
              type: webhook
              webhook:
                url: "http://127.0.0.1:%d/usage"
                timeout: 1s
        metrics:
          enabled: true
          custom_labels: [api_key]
        """.formatted(deadPort, dir.resolve("journal"), deadWebhook);
    try (RunningGateway gateway = RunningGateway.start(dir, yaml)) {
      // Round robin over a live and a dead backend: some requests are retried on the live one.
      for (int i = 0; i < 4; i++) {
        assertEquals(200, gateway.chat(null, CHAT).statusCode());
        assertEquals(200, gateway.chat(null, STREAM).statusCode());
      }
      assertEquals(200, gateway.post("/v1/messages", CHAT, "anthropic-version", "2023-06-01").statusCode());
      assertEquals(200, gateway.post("/v1/responses", "{\"model\":\"mock\",\"input\":\"hi\"}").statusCode());

      String[] scrape = new String[1];
      // Micrometer shows GC pauses once one happened, as it does in any gateway that served for a while.
      System.gc();
      // Tokens are counted and webhooks fail after the answers: wait for both to show.
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> {
        scrape[0] = metrics(gateway);
        return scrape[0].contains("llmproxy_webhook_failure_total{reporter=\"billing\"} ")
            && !scrape[0].contains("llmproxy_webhook_failure_total{reporter=\"billing\"} 0.0")
            && scrape[0].contains("llmproxy_retries_total{") && scrape[0].contains("jvm_gc_pause_seconds_count{");
      }), "webhook failures, a retry and a GC pause show in /metrics");
      String metrics = scrape[0];

      Set<String> exported = exportedNames(metrics);
      Set<String> missing = new TreeSet<>(namesUsed());
      missing.removeAll(exported);
      assertEquals(Set.of(), missing, "metrics the dashboard or the rules name that /metrics lacks");

      assertTrue(metrics.contains("path=\"/v1/messages\""), "Messages is its own path");
      assertTrue(metrics.contains("path=\"/v1/responses\""), "Responses is its own path");
      assertTrue(Pattern.compile("llmproxy_requests_total\\{[^}]*model=\"mock\"").matcher(metrics).find(), metrics);
      assertTrue(Pattern.compile("llmproxy_usage_tokens_total\\{[^}]*model=\"mock\"").matcher(metrics).find(), metrics);
      assertTrue(Pattern.compile("llmproxy_ttft_seconds_bucket\\{[^}]*model=\"mock\"").matcher(metrics).find(), metrics);
      assertTrue(metrics.contains("llmproxy_auth_unavailable_total 0.0"), "a counter exists before its first event");

      Path scrapeFile = dir.resolve("scrape.txt");
      Files.writeString(scrapeFile, metrics);
      Result promtool = run(dir, "sh", "-c", "promtool check metrics < scrape.txt");
      List<String> complaints = new ArrayList<>();
      for (String line : promtool.output().split("\n")) {
        String name = line.trim().split(" ", 2)[0];
        if (!line.isBlank() && !ALLOWED_COMPLAINTS.contains(name)) {
          complaints.add(line);
        }
      }
      assertEquals(List.of(), complaints, "promtool check metrics on our own series");

      prometheusScrapes(dir, gateway.port);
    }
  }

  /** Debian's prometheus scrapes the gateway every second with the alert rules loaded; its API is asked. */
  private void prometheusScrapes(Path dir, int gatewayPort) throws Exception {
    int port = RunningGateway.freePort();
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files:
          - "%s"
        scrape_configs:
          - job_name: llmproxy
            static_configs:
              - targets: ["127.0.0.1:%d"]
        """.formatted(RULES, gatewayPort));
    Process prometheus = new ProcessBuilder("prometheus", "--config.file=" + config,
        "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
    try {
      String api = "http://127.0.0.1:" + port + "/api/v1/";
      JsonArray[] up = new JsonArray[1];
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> {
        up[0] = query(api, "up{job=\"llmproxy\"}");
        return up[0] != null && up[0].size() == 1 && "1".equals(up[0].getJsonObject(0).getJsonArray("value").getString(1));
      }), "prometheus sees the gateway up: " + up[0] + "\n" + log(dir));
      JsonArray requests = query(api, "sum(llmproxy_requests_total{job=\"llmproxy\"})");
      assertTrue(requests != null && requests.size() == 1
          && Double.parseDouble(requests.getJsonObject(0).getJsonArray("value").getString(1)) >= 10,
          "llmproxy_requests_total in prometheus: " + requests);
      JsonObject rules = new JsonObject(get(api + "rules"));
      int loaded = rules.getJsonObject("data").getJsonArray("groups").getJsonObject(0).getJsonArray("rules").size();
      assertEquals(alertNames().size(), loaded, "every rule of alerts.yml is loaded");
    } finally {
      prometheus.destroy();
      prometheus.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static String log(Path dir) {
    try {
      return Files.readString(dir.resolve("prometheus.log"));
    } catch (IOException e) {
      return "";
    }
  }

  private JsonArray query(String api, String promql) {
    try {
      JsonObject answer = new JsonObject(get(api + "query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)));
      return answer.getJsonObject("data").getJsonArray("result");
    } catch (Exception e) {
      return null; // not up yet
    }
  }

  private String get(String url) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static String metrics(RunningGateway gateway) {
    try {
      return gateway.get("/metrics").body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The series names of a scrape, with histograms' {@code _bucket}, {@code _sum} and {@code _count}. */
  static Set<String> exportedNames(String metrics) {
    Set<String> names = new TreeSet<>();
    for (String line : metrics.split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        names.add(line.split("[{ ]", 2)[0]);
      }
    }
    return names;
  }

  /** Every gateway metric a dashboard query, its variables or an alert rule names. */
  static Set<String> namesUsed() throws IOException {
    Set<String> names = new TreeSet<>();
    collect(new JsonObject(Files.readString(DASHBOARD)), names);
    Matcher rules = METRIC.matcher(Files.readString(RULES));
    while (rules.find()) {
      names.add(rules.group(1));
    }
    assertTrue(names.size() > 15, "the dashboard and rules name metrics: " + names);
    return names;
  }

  private static void collect(Object json, Set<String> names) {
    if (json instanceof JsonObject object) {
      for (var entry : object) {
        if (entry.getValue() instanceof String text && Set.of("expr", "query", "definition").contains(entry.getKey())) {
          Matcher matcher = METRIC.matcher(text);
          while (matcher.find()) {
            names.add(matcher.group(1));
          }
        } else {
          collect(entry.getValue(), names);
        }
      }
    } else if (json instanceof JsonArray array) {
      array.forEach(item -> collect(item, names));
    }
  }

  private static List<String> alertNames() throws IOException {
    List<String> alerts = new ArrayList<>();
    Matcher matcher = Pattern.compile("- alert: (\\w+)").matcher(Files.readString(RULES));
    while (matcher.find()) {
      alerts.add(matcher.group(1));
    }
    return alerts;
  }

  record Result(int exit, String output) {
  }

  /** Runs a tool to its end; a tool that is not installed fails the test with what to do. */
  static Result run(Path dir, String... command) throws Exception {
    Process process;
    try {
      process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      fail(command[0] + " is not installed: dev/services.sh installs it (" + e.getMessage() + ")");
      throw e;
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " ended");
    return new Result(process.exitValue(), output);
  }
}
