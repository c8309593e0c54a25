package dev.llmproxy.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

final class Version {

  private Version() {
  }

  static String get() {
    try (InputStream in = Version.class.getResourceAsStream("/llmproxy-version.properties")) {
      Properties properties = new Properties();
      if (in != null) {
        properties.load(in);
      }
      return properties.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
