package dev.llmproxy.launcher;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import dev.llmproxy.common.config.ClusterConfig;
import io.vertx.core.VertxOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The cluster manager and event-bus settings of one member, from {@code cluster}: Hazelcast configured in code (no
 * XML to ship), members found by TCP/IP join from {@code cluster.members} (no multicast, no cloud auto-detection),
 * no phone-home, bound to {@code cluster.host}; the event bus binds the same host on a free port.
 */
final class ClusterSetup {

  private ClusterSetup() {
  }

  static HazelcastClusterManager clusterManager(ClusterConfig cluster) {
    return new HazelcastClusterManager(hazelcast(cluster));
  }

  /**
   * Hazelcast's timings (join wait, heartbeats) stay at their defaults, so that {@code -Dhazelcast.*} system
   * properties can tune them: Hazelcast reads a property from the system when the config does not set it.
   */
  static Config hazelcast(ClusterConfig cluster) {
    // Vert.x's own defaults first: the maps and multimap it needs for event-bus subscriptions and node info.
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(cluster.name());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    // The launcher drains and leaves the cluster on SIGTERM; Hazelcast's own hook would leave before the drain.
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.socket.bind.any", "false");
    config.getJetConfig().setEnabled(false);
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(cluster.port()).setPortAutoIncrement(false);
    network.getInterfaces().setEnabled(true).setInterfaces(List.of(address(cluster.host())));
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members());
    return config;
  }

  /** The event bus of a member binds {@code cluster.host} (a free port) and advertises it to the others. */
  static VertxOptions withEventBus(VertxOptions options, ClusterConfig cluster) {
    options.getEventBusOptions().setHost(cluster.host()).setPort(0).setClusterPublicHost(cluster.host());
    return options;
  }

  /** Hazelcast's interface list takes addresses, not names: a host name is resolved once, at start. */
  private static String address(String host) {
    try {
      return InetAddress.getByName(host).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("cluster.host: cannot resolve " + host);
    }
  }
}
