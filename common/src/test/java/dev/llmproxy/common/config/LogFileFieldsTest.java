package dev.llmproxy.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code logging.*.file}: seed 001's {@code rotate} and {@code max_age} are read and checked by path. */
class LogFileFieldsTest {

  @Test
  void seed001AccessFileLoadsWithItsRotationAndAge() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        logging:
          enabled: true
          access:
            enabled: false
            storage: "file"
            file:
              path: "./logs/access.log"
              rotate: "daily"
              max_age: 7
        """);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    LogTargetFileConfig file = loaded.config().logging().access().file();
    assertEquals("daily", file.rotate());
    assertEquals(7, file.maxAge());
  }

  @Test
  void anUnknownRotationOrANegativeAgeIsAnErrorByPath() {
    LoadedConfig loaded = TestConfigs.loadYaml("""
        logging:
          request:
            file:
              path: "./logs/requests.log"
              rotate: "weekly"
              max_age: -1
        """);
    assertEquals(List.of("logging.request.file.rotate: must be one of size, daily, hourly",
        "logging.request.file.max_age: must be >= 0"), loaded.errors());
  }
}
