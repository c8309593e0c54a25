package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * One of {@code storage.databases}. A non-empty {@code dsn} wins over host/port/...; {@code path} is
 * the SQLite file. A port of 0 means the driver's default (see {@link #effectivePort()}).
 */
public record DatabaseConfig(String name, boolean enabled, String driver, String dsn, String host, int port,
    String user, String password, String database, String path, int maxOpenConns, int maxIdleConns,
    Duration connMaxLifetime, Duration connMaxIdleTime) {

  public int effectivePort() {
    if (port != 0) {
      return port;
    }
    return switch (driver) {
      case "mysql" -> 3306;
      case "postgres" -> 5432;
      default -> 0;
    };
  }

  static DatabaseConfig read(ConfigReader r) {
    String driver = r.string("driver", "");
    if (driver.equals("postgresql")) {
      driver = "postgres";
    }
    int maxOpen = r.integer("max_open_conns", 100);
    return new DatabaseConfig(
        r.string("name", ""),
        r.bool("enabled", true),
        driver,
        r.string("dsn", ""),
        r.string("host", ""),
        r.integer("port", 0),
        r.string("user", ""),
        r.string("password", ""),
        r.string("database", ""),
        r.string("path", ""),
        maxOpen,
        // Unset means no cap below max_open_conns, which is what a Vert.x pool does anyway.
        r.integer("max_idle_conns", maxOpen),
        r.duration("conn_max_lifetime", Duration.ofHours(1)),
        r.duration("conn_max_idle_time", Duration.ofMinutes(10)));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("enabled", enabled)
        .put("driver", driver)
        .put("dsn", dsn)
        .put("host", host)
        .put("port", port)
        .put("user", user)
        .put("password", password)
        .put("database", database)
        .put("path", path)
        .put("max_open_conns", maxOpenConns)
        .put("max_idle_conns", maxIdleConns)
        .put("conn_max_lifetime", JsonOut.duration(connMaxLifetime))
        .put("conn_max_idle_time", JsonOut.duration(connMaxIdleTime));
  }
}
