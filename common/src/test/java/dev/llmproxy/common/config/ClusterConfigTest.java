package dev.llmproxy.common.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterConfigTest {

  @Test
  void defaultsDeployEveryRoleInOneJvm() {
    ClusterConfig cluster = GatewayConfig.defaults().cluster();
    assertFalse(cluster.enabled());
    assertEquals("llmproxy", cluster.name());
    assertEquals("127.0.0.1", cluster.host());
    assertEquals(5701, cluster.port());
    assertEquals(List.of(), cluster.members());
    assertEquals(ClusterConfig.ALL_ROLES, cluster.roles());
    assertTrue(cluster.runs(ClusterConfig.PROXY));
  }

  @Test
  void sectionIsReadAndEnvironmentOverridesHostPortAndRoles() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        cluster:
          enabled: true
          name: "prod"
          members: ["10.0.0.1:5701", "10.0.0.2:5701"]
        """, Map.of("LLMPROXY_CLUSTER_PORT", "5702", "LLMPROXY_CLUSTER_HOST", "10.0.0.2",
        "LLMPROXY_CLUSTER_ROLES", "proxy, auth"));
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of(), loaded.warnings());
    ClusterConfig cluster = loaded.config().cluster();
    assertEquals(new ClusterConfig(true, "prod", "10.0.0.2", 5702, List.of("10.0.0.1:5701", "10.0.0.2:5701"),
        List.of("proxy", "auth"), GatewayConfig.defaults().cluster().usageHandover()), cluster);
    assertTrue(cluster.runs("auth"));
    assertFalse(cluster.runs("usage"));
    assertEquals(loaded.config(), GatewayConfig.fromJson(loaded.config().toJson()));
  }

  @Test
  void errorsAreReportedByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        cluster:
          enabled: true
          name: ""
          port: 70000
          members: ["10.0.0.1", ":5701"]
          roles: [proxy, billing, proxy]
        """);
    assertEquals(List.of(
        "cluster.roles[1]: must be one of proxy, auth, discovery, usage, admin",
        "cluster.roles[2]: duplicate role \"proxy\"",
        "cluster.name: required when cluster.enabled is true",
        "cluster.port: must be a port (1-65535)",
        "cluster.members[0]: not host:port",
        "cluster.members[1]: not host:port"), loaded.errors());
  }

  @Test
  void noRoleIsAnError() {
    LoadedConfig loaded = TestConfigs.loadYaml("cluster: {enabled: true, roles: []}\n");
    assertEquals(List.of("cluster.roles: must name at least one role when cluster.enabled is true"), loaded.errors());
  }

  @Test
  void rolesWithoutClusterAreNotUsedAndSaySo() {
    LoadedConfig loaded = TestConfigs.loadYaml("cluster: {roles: [proxy]}\n");
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(List.of("cluster.roles: not used while cluster.enabled is false: one JVM deploys every verticle"),
        loaded.warnings());
  }

  @Test
  void memoryRateLimitInAClusterWarnsThatEachMemberLimitsAlone() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        rate_limit:
          enabled: true
          storage: memory
          global: {requests_per_second: 10}
        cluster: {enabled: true}
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    assertEquals(1, loaded.warnings().size(), loaded.warnings()::toString);
    assertTrue(loaded.warnings().get(0).startsWith("rate_limit.storage: counters are in this member's memory"),
        loaded.warnings()::toString);

    LoadedConfig single = TestConfigs.loadYaml("""
        rate_limit:
          enabled: true
          storage: memory
          global: {requests_per_second: 10}
        """);
    assertEquals(List.of(), single.warnings());
  }
}
