package dev.llmproxy.launcher;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The command line, parsed. {@code --cluster} and {@code --roles} are fields of the config given on the command
 * line: they reach the config as the environment overrides {@code LLMPROXY_CLUSTER_*} would (and win over them).
 */
record Cli(Command command, String configPath, Map<String, String> overrides) {

  enum Command { RUN, VALIDATE, HELP, VERSION }

  static final String USAGE = """
      Usage: java -jar llmproxy.jar [run] [--config FILE]     start the gateway (default config: conf/config.yaml)
             java -jar llmproxy.jar validate [--config FILE]  check a config: every error by its path, exit 1; or a summary, exit 0
             java -jar llmproxy.jar --version | --help
      Options:
        -c, --config FILE   the YAML configuration file
        --cluster           join the cluster of the config's cluster section (cluster.enabled: true)
        --roles R1,R2       the verticles this member deploys: proxy, auth, discovery, usage, admin (cluster.roles)""";

  static Cli parse(String[] args) {
    Command command = Command.RUN;
    String config = Main.DEFAULT_CONFIG;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "run" -> command = Command.RUN;
        case "validate" -> command = Command.VALIDATE;
        case "-h", "--help", "help" -> {
          return new Cli(Command.HELP, config, overrides);
        }
        case "-V", "--version", "version" -> {
          return new Cli(Command.VERSION, config, overrides);
        }
        case "-c", "--config" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(arg + " needs a file");
          }
          config = args[++i];
        }
        case "--cluster" -> overrides.put(CLUSTER_ENABLED, "true");
        case "--roles" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(arg + " needs a comma-separated list of roles");
          }
          overrides.put(CLUSTER_ROLES, args[++i]);
        }
        default -> {
          if (arg.startsWith("--config=")) {
            config = arg.substring("--config=".length());
          } else if (arg.startsWith("--roles=")) {
            overrides.put(CLUSTER_ROLES, arg.substring("--roles=".length()));
          } else {
            throw new IllegalArgumentException("unknown argument: " + arg);
          }
        }
      }
    }
    return new Cli(command, config, Map.copyOf(overrides));
  }

  static final String CLUSTER_ENABLED = "LLMPROXY_CLUSTER_ENABLED";
  static final String CLUSTER_ROLES = "LLMPROXY_CLUSTER_ROLES";

  /** The environment to read the config with: the process's, the command line's overrides on top. */
  Map<String, String> environment(Map<String, String> process) {
    Map<String, String> env = new HashMap<>(process);
    env.putAll(overrides);
    return env;
  }
}
