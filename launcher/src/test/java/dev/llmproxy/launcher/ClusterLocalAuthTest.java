package dev.llmproxy.launcher;

import dev.llmproxy.common.config.GatewayConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two cluster members in this JVM, each with its own auth verticle and its own keys: the proxy of a member that
 * runs auth is answered by that auth only, never by the other member's (a clustered send would pick either).
 */
@ExtendWith(LocalCluster.QuickJoin.class)
class ClusterLocalAuthTest {

  @Test
  void aProxyAsksTheAuthOfItsOwnJvm(@TempDir Path dir) throws Exception {
    int fullCluster = RunningGateway.freePort();
    int authCluster = RunningGateway.freePort();
    int proxyPort = RunningGateway.freePort();
    String members = "[\"127.0.0.1:" + fullCluster + "\", \"127.0.0.1:" + authCluster + "\"]";
    try (LocalCluster cluster = new LocalCluster()) {
      GatewayConfig other = LocalCluster.config(dir.resolve("other"), """
          auth:
            enabled: true
            pipeline: [{name: keys, type: static, static: {keys: [{key: "sk-other-member-0123"}]}}]
          cluster: {enabled: true, name: "local-auth-%d", port: %d, members: %s, roles: [auth]}
          """.formatted(fullCluster, authCluster, members));
      GatewayConfig full = LocalCluster.config(dir.resolve("full"), """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          auth:
            enabled: true
            negative_cache_ttl: 1ms
            pipeline: [{name: keys, type: static, static: {keys: [{key: "sk-local-member-0123"}]}}]
          cluster: {enabled: true, name: "local-auth-%d", port: %d, members: %s}
          """.formatted(proxyPort, cluster.backend.baseUrl(), fullCluster, fullCluster, members));
      cluster.startMembers(other, full);

      HttpClient http = HttpClient.newHttpClient();
      assertEquals(200, LocalCluster.chat(http, proxyPort, "sk-local-member-0123"));
      for (int i = 0; i < 8; i++) {
        assertEquals(401, LocalCluster.chat(http, proxyPort, "sk-other-member-0123"),
            "answered by the other member's auth");
      }
    }
  }
}
