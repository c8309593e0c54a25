package dev.llmproxy.launcher;

/** The command line, parsed. */
record Cli(Command command, String configPath) {

  enum Command { RUN, VALIDATE, HELP, VERSION }

  static final String USAGE = """
      Usage: java -jar llmproxy.jar [run] [--config FILE]     start the gateway (default config: conf/config.yaml)
             java -jar llmproxy.jar validate [--config FILE]  check a config: every error by its path, exit 1; or a summary, exit 0
             java -jar llmproxy.jar --version | --help
      Options:
        -c, --config FILE   the YAML configuration file""";

  static Cli parse(String[] args) {
    Command command = Command.RUN;
    String config = Main.DEFAULT_CONFIG;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "run" -> command = Command.RUN;
        case "validate" -> command = Command.VALIDATE;
        case "-h", "--help", "help" -> {
          return new Cli(Command.HELP, config);
        }
        case "-V", "--version", "version" -> {
          return new Cli(Command.VERSION, config);
        }
        case "-c", "--config" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(arg + " needs a file");
          }
          config = args[++i];
        }
        default -> {
          if (arg.startsWith("--config=")) {
            config = arg.substring("--config=".length());
          } else {
            throw new IllegalArgumentException("unknown argument: " + arg);
          }
        }
      }
    }
    return new Cli(command, config);
  }
}
