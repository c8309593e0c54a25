package dev.llmproxy.launcher;

import static dev.llmproxy.launcher.DeployFilesTest.ROOT;
import static dev.llmproxy.launcher.DeployFilesTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker-compose.yml parses with Debian's {@code docker-compose} (images cannot be pulled here, so nothing is run),
 * and every address agrees: each gateway service mounts a config of conf/ that is valid with that service's
 * environment and listens on the port the service publishes; the config's backends, Redis, PostgreSQL and cluster
 * members are services listening on those ports; Prometheus scrapes the gateways' ports and loads rules that exist;
 * Grafana's datasource is the Prometheus service; the Dockerfile exposes and health-checks the gateway's port.
 */
class ComposeFilesTest {

  private static final String CONFIG_IN_CONTAINER = "/etc/llmproxy/config.yaml";

  @Test
  @SuppressWarnings("unchecked")
  void composeParsesAndEveryServiceAgreesWithConf() throws Exception {
    DeployFilesTest.Result config = run(ROOT, "docker-compose", "-f", "docker-compose.yml", "config");
    assertEquals(0, config.exit(), config.output());
    Map<String, Object> compose = new Yaml().load(config.output().substring(config.output().indexOf("services:")));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");

    List<String> gateways = new ArrayList<>();
    Map<String, Integer> gatewayPorts = new HashMap<>();
    for (var service : services.entrySet()) {
      String source = mountSource(service.getValue(), CONFIG_IN_CONTAINER);
      if (source == null) {
        continue;
      }
      String name = service.getKey();
      gateways.add(name);
      Path file = Path.of(source);
      assertTrue(file.startsWith(ROOT.resolve("conf")) && Files.isRegularFile(file), name + " mounts a file of conf/: " + file);
      Map<String, String> env = environment(service.getValue());
      LoadedConfig loaded = ConfigLoader.parse(new JsonObject((Map<String, Object>) new Yaml().load(Files.readString(file))), env);
      assertTrue(loaded.ok(), name + ": " + loaded.errors());
      GatewayConfig gateway = loaded.config();
      int listenPort = port(gateway.server().listen());
      assertTrue(targetPorts(service.getValue()).contains(listenPort), name + " publishes the port it listens on, " + listenPort);
      gatewayPorts.put(name, listenPort);

      for (var backend : gateway.backends()) {
        URI url = URI.create(backend.url());
        assertListens(services, url.getHost(), url.getPort(), "backend " + backend.name() + " of " + name);
      }
      for (var cache : gateway.storage().caches()) {
        String[] addr = cache.addr().split(":");
        assertListens(services, addr[0], Integer.parseInt(addr[1]), "cache " + cache.name());
      }
      for (var database : gateway.storage().databases()) {
        assertListens(services, database.host(), database.port(), "database " + database.name());
        Map<String, String> db = environment(services.get(database.host()));
        assertEquals(database.user(), db.get("POSTGRES_USER"), "database user");
        assertEquals(database.database(), db.get("POSTGRES_DB"), "database name");
        assertEquals(database.password(), db.get("POSTGRES_PASSWORD"), "database password");
      }
      if (gateway.cluster().enabled()) {
        assertEquals(name, gateway.cluster().host(), name + " advertises its own service name");
        assertTrue(gateway.cluster().members().contains(name + ":" + gateway.cluster().port()), name + " is a member");
        for (String member : gateway.cluster().members()) {
          assertTrue(services.containsKey(member.split(":")[0]), "cluster member " + member + " is a service");
        }
      }
    }
    assertTrue(gateways.containsAll(List.of("gateway", "gateway-a", "gateway-b")), "gateway services: " + gateways);
    assertTrue(gatewayPorts.values().stream().allMatch(p -> p == 8000), "the gateways listen on 8000: " + gatewayPorts);

    // Prometheus: scrapes every gateway on its port, and its rules exist where it loads them.
    Map<String, Object> prometheusService = services.get("prometheus");
    Path prometheusDir = Path.of(mountSource(prometheusService, "/etc/prometheus"));
    Map<String, Object> prometheus = new Yaml().load(Files.readString(prometheusDir.resolve("prometheus.yml")));
    for (Object ruleFile : (List<Object>) prometheus.get("rule_files")) {
      String inDir = ((String) ruleFile).replaceFirst("^/etc/prometheus/", "");
      assertTrue(Files.isRegularFile(prometheusDir.resolve(inDir)), "rule file " + ruleFile + " is mounted");
    }
    List<String> targets = new ArrayList<>();
    for (Map<String, Object> job : (List<Map<String, Object>>) prometheus.get("scrape_configs")) {
      for (Map<String, Object> statics : (List<Map<String, Object>>) job.get("static_configs")) {
        targets.addAll((List<String>) statics.get("targets"));
      }
    }
    for (String gateway : gateways) {
      assertTrue(targets.contains(gateway + ":" + gatewayPorts.get(gateway)), "prometheus scrapes " + gateway + ": " + targets);
    }
    int prometheusPort = 9090;
    assertTrue(targetPorts(prometheusService).contains(prometheusPort), "prometheus listens on its default port");

    // Grafana: its datasource is the Prometheus service, its dashboards directory is mounted where provisioning reads.
    Map<String, Object> grafana = services.get("grafana");
    Path provisioning = Path.of(mountSource(grafana, "/etc/grafana/provisioning"));
    Map<String, Object> datasources = new Yaml().load(Files.readString(provisioning.resolve("datasources/prometheus.yml")));
    String datasourceUrl = (String) ((List<Map<String, Object>>) datasources.get("datasources")).get(0).get("url");
    assertEquals("http://prometheus:" + prometheusPort, datasourceUrl);
    Map<String, Object> dashboards = new Yaml().load(Files.readString(provisioning.resolve("dashboards/llmproxy.yml")));
    String dashboardPath = (String) ((Map<String, Object>) ((List<Map<String, Object>>) dashboards.get("providers")).get(0)
        .get("options")).get("path");
    Path dashboardDir = Path.of(mountSource(grafana, dashboardPath));
    assertTrue(Files.isRegularFile(dashboardDir.resolve("llmproxy.json")), "the dashboard is mounted");

    // The image: the port its default config listens on is exposed and health-checked.
    String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
    GatewayConfig imageDefault = ConfigLoader.parse(new JsonObject((Map<String, Object>) new Yaml().load(
        Files.readString(ROOT.resolve("conf/config.yaml")))), Map.of()).config();
    int imagePort = port(imageDefault.server().listen());
    assertTrue(dockerfile.contains("EXPOSE " + imagePort), "the Dockerfile exposes " + imagePort);
    assertTrue(dockerfile.contains("http://127.0.0.1:" + imagePort + "/health"), "the HEALTHCHECK asks /health on " + imagePort);
    assertTrue(dockerfile.contains("COPY conf/config.yaml " + CONFIG_IN_CONTAINER), "the image's default config");
  }

  /** The service named {@code host} listens on {@code port} in its container. */
  @SuppressWarnings("unchecked")
  private static void assertListens(Map<String, Map<String, Object>> services, String host, int port, String what) {
    Map<String, Object> service = services.get(host);
    assertNotNull(service, what + ": " + host + " is a service of docker-compose.yml");
    Object command = service.get("command");
    List<String> args = command instanceof List<?> list ? (List<String>) list
        : command == null ? List.of() : List.of(((String) command).split(" "));
    int listens = args.indexOf("--port") >= 0 ? Integer.parseInt(args.get(args.indexOf("--port") + 1))
        : defaultPort(String.valueOf(service.get("image")));
    assertEquals(port, listens, what + ": " + host + " listens on " + listens);
  }

  /** The port an image's server listens on when its command names none. */
  private static int defaultPort(String image) {
    if (image.startsWith("postgres:")) {
      return 5432;
    }
    if (image.startsWith("redis:")) {
      return 6379;
    }
    throw new AssertionError(image + " has no --port in its command and no known default");
  }

  @SuppressWarnings("unchecked")
  private static String mountSource(Map<String, Object> service, String target) {
    for (Object volume : (List<Object>) service.getOrDefault("volumes", List.of())) {
      String source;
      String mountedAt;
      if (volume instanceof Map<?, ?> map) {
        source = (String) map.get("source");
        mountedAt = (String) map.get("target");
      } else {
        String[] parts = ((String) volume).split(":");
        source = parts[0];
        mountedAt = parts[1];
      }
      if (target.equals(mountedAt)) {
        return source;
      }
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private static List<Integer> targetPorts(Map<String, Object> service) {
    List<Integer> ports = new ArrayList<>();
    for (Object port : (List<Object>) service.getOrDefault("ports", List.of())) {
      if (port instanceof Map<?, ?> map) {
        ports.add(((Number) map.get("target")).intValue());
      } else {
        String[] parts = port.toString().split(":");
        ports.add(Integer.parseInt(parts[parts.length - 1]));
      }
    }
    return ports;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> environment(Map<String, Object> service) {
    Map<String, String> env = new HashMap<>();
    Object declared = service.get("environment");
    if (declared instanceof Map<?, ?> map) {
      map.forEach((k, v) -> env.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
    }
    return env;
  }

  private static int port(String listen) {
    Matcher matcher = Pattern.compile(":(\\d+)$").matcher(listen);
    assertTrue(matcher.find(), listen);
    return Integer.parseInt(matcher.group(1));
  }
}
