package dev.llmproxy.launcher.reload;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * {@code reload.watch}: vertx-config reads the config file every scan period and, when what it reads differs from the
 * last read, {@code onChange} runs (the same reload as SIGHUP). A file that does not parse is skipped by the scan and
 * seen again once it does.
 */
public final class ConfigWatcher {

  private final ConfigRetriever retriever;

  private ConfigWatcher(ConfigRetriever retriever) {
    this.retriever = retriever;
  }

  public static ConfigWatcher start(Vertx vertx, String path, Duration scanPeriod, Runnable onChange) {
    ConfigStoreOptions file = new ConfigStoreOptions().setType("file").setFormat("yaml")
        .setConfig(new JsonObject().put("path", path));
    ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions().addStore(file)
        .setScanPeriod(scanPeriod.toMillis()).setIncludeDefaultStores(false));
    retriever.listen(change -> onChange.run());
    return new ConfigWatcher(retriever);
  }

  public void stop() {
    retriever.close();
  }
}
