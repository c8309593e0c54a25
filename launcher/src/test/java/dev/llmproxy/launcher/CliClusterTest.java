package dev.llmproxy.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --cluster} and {@code --roles} are the cluster section's fields given on the command line. */
class CliClusterTest {

  @Test
  void clusterAndRolesBecomeOverridesThatWinOverTheEnvironment() {
    Cli cli = Cli.parse(new String[] {"run", "--config", "a.yaml", "--cluster", "--roles", "proxy,auth"});
    assertEquals("a.yaml", cli.configPath());
    Map<String, String> env = cli.environment(Map.of("LLMPROXY_CLUSTER_ROLES", "usage", "LLMPROXY_CLUSTER_PORT", "5702"));
    assertEquals("true", env.get("LLMPROXY_CLUSTER_ENABLED"));
    assertEquals("proxy,auth", env.get("LLMPROXY_CLUSTER_ROLES"));
    assertEquals("5702", env.get("LLMPROXY_CLUSTER_PORT"));
    assertEquals("admin", Cli.parse(new String[] {"--roles=admin"}).environment(Map.of()).get("LLMPROXY_CLUSTER_ROLES"));
    assertThrows(IllegalArgumentException.class, () -> Cli.parse(new String[] {"--roles"}));
  }

  @Test
  void validateReadsTheCommandLineRolesAndWarnsAboutMemoryLimitsInACluster(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, """
        backends: [{url: "http://127.0.0.1:8001"}]
        rate_limit:
          enabled: true
          global: {requests_per_second: 10}
        """);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Map<String, String> env = Cli.parse(new String[] {"validate", "--cluster", "--roles", "proxy,billing"})
        .environment(Map.of());
    assertEquals(1, Main.validate(file.toString(), env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)));
    String errors = err.toString(StandardCharsets.UTF_8);
    assertTrue(errors.contains("cluster.roles[1]: must be one of proxy, auth, discovery, usage, admin"), errors);

    err.reset();
    env = Cli.parse(new String[] {"validate", "--cluster", "--roles", "proxy"}).environment(Map.of());
    assertEquals(0, Main.validate(file.toString(), env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)));
    String warnings = err.toString(StandardCharsets.UTF_8);
    assertTrue(warnings.contains("warning: rate_limit.storage: counters are in this member's memory"), warnings);
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("cluster:   llmproxy as 127.0.0.1:5701, roles proxy,"
        + " 0 member(s) to join"), out::toString);
  }
}
