package dev.llmproxy.launcher;

import ch.qos.logback.classic.LoggerContext;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code java -jar llmproxy.jar [run] [--config FILE] | validate [--config FILE] | --version | --help}. */
public final class Main {

  static final String DEFAULT_CONFIG = "conf/config.yaml";
  private static final int LOAD_SECONDS = 30;
  /** Hazelcast waits a few seconds for members before it forms a cluster alone; a join never takes this long. */
  private static final int CLUSTER_JOIN_SECONDS = 120;

  private Main() {
  }

  /** Netty reads it once, when its first allocator is made: set before anything touches Netty. */
  static final String ALLOCATOR_PROPERTY = "io.netty.allocator.type";

  public static void main(String[] args) {
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    // Netty 4.2's default allocator is the adaptive one; with its pooled one (4.1's default) the gateway took 1-4 us
    // less CPU a request in paired rounds (4 us with every feature on), for the same memory (bench/RESULTS.md,
    // session 10).
    // An operator's -Dio.netty.allocator.type=... still wins.
    if (System.getProperty(ALLOCATOR_PROPERTY) == null) {
      System.setProperty(ALLOCATOR_PROPERTY, "pooled");
    }
    Cli cli;
    try {
      cli = Cli.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("llmproxy: " + e.getMessage());
      System.err.println(Cli.USAGE);
      System.exit(2);
      return;
    }
    switch (cli.command()) {
      case HELP -> System.out.println(Cli.USAGE);
      case VERSION -> System.out.println("llmproxy " + Version.get());
      case VALIDATE -> System.exit(validate(cli.configPath(), cli.environment(System.getenv()), System.out, System.err));
      case RUN -> run(cli.configPath(), cli.environment(System.getenv()));
    }
  }

  /** Loads and checks a config file: 0 when it is valid, 1 with every error by its path when not. */
  static int validate(String path, PrintStream out, PrintStream err) {
    return validate(path, System.getenv(), out, err);
  }

  /** @param env the environment to read the config with ({@code LLMPROXY_*} overrides, {@code ${VAR}}) */
  static int validate(String path, Map<String, String> env, PrintStream out, PrintStream err) {
    LoadedConfig loaded = load(path, env, err);
    if (loaded == null) {
      return 1;
    }
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    if (!loaded.ok()) {
      printErrors(path, loaded, "", err);
      return 1;
    }
    out.print(Summary.of(path, loaded.config()));
    return 0;
  }

  private static LoadedConfig load(String path, Map<String, String> env, PrintStream err) {
    if (!isFile(path)) {
      err.println("llmproxy: config file not found: " + path);
      return null;
    }
    Vertx loader = Vertx.vertx();
    try {
      return ConfigLoader.load(loader, path, env).await(LOAD_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      // The loader never fails (its problems are its result): only the wait can, and its text is no help.
      err.println("llmproxy: cannot read " + path + ": reading did not finish within " + LOAD_SECONDS + " s");
      return null;
    } finally {
      loader.close().await();
    }
  }

  private static void run(String path, Map<String, String> env) {
    Logger log = LoggerFactory.getLogger(Main.class);
    LoadedConfig loaded = load(path, env, System.err);
    if (loaded == null) {
      System.exit(1);
      return;
    }
    loaded.warnings().forEach(w -> log.warn("config: {}", w));
    if (!loaded.ok()) {
      printErrors(path, loaded, "; nothing started", System.err);
      System.exit(1);
      return;
    }
    GatewayConfig config = loaded.config();
    // From here on the log follows the config (log, logging.access, logging.request.file), before any verticle runs.
    LogSetup.apply(config);
    log.info("LLMProxy {} starting with {} (Netty allocator: {})", Version.get(), path,
        io.netty.buffer.ByteBufAllocator.DEFAULT.getClass().getSimpleName());
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    Vertx vertx;
    if (config.cluster().enabled()) {
      try {
        vertx = Gateway.createClusteredVertx(registry, config.metrics(), config.cluster(), config.tracing())
            .await(CLUSTER_JOIN_SECONDS, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.error("joining the cluster \"{}\" as {}:{} failed: {}", config.cluster().name(), config.cluster().host(),
            config.cluster().port(), e.getMessage());
        log.debug("cluster join failure", e);
        exit(1);
        return;
      }
    } else {
      vertx = Gateway.createVertx(registry, config.metrics(), config.tracing());
    }
    Gateway gateway;
    try {
      gateway = Gateway.start(vertx, config, registry, path, env).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Every verticle fails its start with a message that names what is wrong; the trace is for debugging only.
      log.error("start-up failed: {}", e.getMessage());
      log.debug("start-up failure", e);
      vertx.close();
      exit(1);
      return;
    }
    AtomicBoolean stopping = new AtomicBoolean();
    Runnable drain = () -> {
      if (!stopping.compareAndSet(false, true)) {
        try {
          log.warn("second signal: exiting now");
        } finally {
          exit(1);
        }
      }
      new Thread(() -> {
        try {
          log.info("signal received: draining (up to {} s)", config.server().shutdownTimeout().toSeconds());
          gateway.stop().await(config.server().shutdownTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
          vertx.close().await(10, TimeUnit.SECONDS);
          log.info("stopped");
          exit(0);
        } catch (Throwable e) {
          // Whatever broke the drain (even logging: a jar replaced under the running JVM fails class loading) must
          // not keep the process alive: a second signal would find it "already stopping" and do nothing.
          try {
            log.error("shutdown did not complete: {}", e.getMessage());
          } finally {
            exit(1);
          }
        }
      }, "llmproxy-shutdown").start();
    };
    Signal.handle(new Signal("TERM"), s -> drain.run());
    Signal.handle(new Signal("INT"), s -> drain.run());
    gateway.onLogChange(LogSetup::apply);
    // SIGHUP: the same reload as POST /admin/config/reload; its outcome goes to the log.
    SignalHandler before = Signal.handle(new Signal("HUP"), s -> {
      if (stopping.get()) {
        return;
      }
      gateway.reloadAndLog("SIGHUP");
    });
    if (before == SignalHandler.SIG_IGN) {
      // A process started with SIGHUP ignored (nohup) keeps it ignored: the JVM does not take the handler over.
      log.warn("SIGHUP is ignored in this process (started under nohup?): it will not reload the config; "
          + "use POST /admin/config/reload or reload.watch");
    }
  }

  private static boolean isFile(String path) {
    try {
      return Files.isRegularFile(Path.of(path));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  /** The same lines for {@code validate} and a refused start: every error by its config path. */
  private static void printErrors(String path, LoadedConfig loaded, String outcome, PrintStream err) {
    err.println(path + ": " + loaded.errors().size() + " error(s)" + outcome);
    loaded.errors().forEach(e -> err.println("  " + e));
  }

  private static void exit(int code) {
    try {
      if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
        context.stop();
      }
    } finally {
      System.exit(code);
    }
  }
}
