package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The top-level {@code scripts/} folder: every file in it is named by the config block that uses it (seed 000's
 * layout, and seed 001's {@code scripts:} section), and {@code validate} loads and compiles each. Each one also runs
 * once through the code that runs its kind, in the module's own test:
 * <ul>
 *   <li>{@code on_*.lua}: proxy-verticle {@code ScriptsFolderHooksTest}</li>
 *   <li>{@code routing.lua}, {@code ratelimit.lua}, {@code access_filter.lua}, {@code request.lua},
 *       {@code response.lua}, {@code error.lua}: proxy-verticle {@code ScriptsFolderProxyTest}</li>
 *   <li>{@code auth.lua}, {@code auth_redis.lua}, {@code auth_db.lua}, {@code auth_db_post.lua},
 *       {@code auth_webhook.lua}: auth-verticle {@code ScriptsFolderAuthTest}</li>
 *   <li>{@code discovery_filter.lua}, {@code health_check.lua}: discovery-verticle {@code ScriptsFolderDiscoveryTest}</li>
 *   <li>{@code usage_filter.lua}, {@code usage_db.lua}, {@code log_filter.lua}: usage-verticle
 *       {@code ScriptsFolderUsageTest}</li>
 * </ul>
 */
class ScriptsFolderTest {

  private static final Path SCRIPTS = Path.of("..", "scripts");

  /** Seed 000's sections, each script block on and pointing into scripts/. */
  private static final String SEED_000 = """
      server:
        listen: "127.0.0.1:18000"
      storage:
        caches:
          - name: primary
            driver: redis
            addr: "127.0.0.1:6379"
        databases:
          - name: primary
            driver: sqlite
            path: "{dir}/gateway.db"
      backends:
        - name: local
          url: "http://127.0.0.1:8080"
      discovery:
        enabled: true
        sources:
          - name: static_discovery
            type: static
            static:
              backends:
                - name: static-1
                  url: "http://127.0.0.1:8081"
            script:
              enabled: true
              path: "../scripts/discovery_filter.lua"
      auth:
        enabled: true
        pipeline:
          - name: redis_auth
            type: redis
            redis:
              storage: primary
              key_pattern: "llmproxy:key:{api_key}"
            script:
              enabled: true
              path: "../scripts/auth_redis.lua"
          - name: db_auth
            type: database
            database:
              storage: primary
              table: api_keys
              key_column: key
              fields: ["user_id", "quota", "status"]
            script:
              enabled: true
              path: "../scripts/auth_db.lua"
          - name: db_auth_post
            type: database
            database:
              storage: primary
              table: api_keys
              key_column: key
              fields: ["user_id", "quota", "status"]
            script:
              enabled: true
              path: "../scripts/auth_db_post.lua"
          - name: webhook_auth
            type: webhook
            webhook:
              url: "http://127.0.0.1:9999/verify"
            script:
              enabled: true
              path: "../scripts/auth_webhook.lua"
          - name: lua_auth
            type: lua
            lua:
              path: "../scripts/auth.lua"
      logging:
        enabled: true
        request:
          enabled: true
          storage: primary
          script:
            enabled: true
            path: "../scripts/log_filter.lua"
        access:
          enabled: true
          output: stdout
          script:
            enabled: true
            path: "../scripts/access_filter.lua"
      rate_limit:
        enabled: true
        script:
          enabled: true
          path: "../scripts/ratelimit.lua"
      routing:
        script:
          enabled: true
          path: "../scripts/routing.lua"
      health_check:
        enabled: true
        script:
          enabled: true
          path: "../scripts/health_check.lua"
      usage:
        enabled: true
        journal_path: "{dir}/journal"
        reporters:
          - name: billing
            type: webhook
            webhook:
              url: "http://127.0.0.1:9998/usage"
            script:
              enabled: true
              path: "../scripts/usage_filter.lua"
          - name: db_usage
            type: database
            database:
              storage: primary
            script:
              enabled: true
              path: "../scripts/usage_db.lua"
      hooks:
        enabled: true
        on_request: {enabled: true, path: "../scripts/on_request.lua"}
        on_auth: {enabled: true, path: "../scripts/on_auth.lua"}
        on_route: {enabled: true, path: "../scripts/on_route.lua"}
        on_response: {enabled: true, path: "../scripts/on_response.lua"}
        on_error: {enabled: true, path: "../scripts/on_error.lua"}
        on_complete: {enabled: true, path: "../scripts/on_complete.lua"}
      """;

  /** Seed 001's scripts: section (its transforms become the hooks). */
  private static final String SEED_001 = """
      server:
        listen: "127.0.0.1:18001"
      backends:
        - url: "http://127.0.0.1:8080"
      scripts:
        enabled: true
        routing:
          enabled: true
          path: "../scripts/routing.lua"
        request_transform:
          enabled: true
          path: "../scripts/request.lua"
        response_transform:
          enabled: true
          path: "../scripts/response.lua"
        error_handler:
          enabled: true
          path: "../scripts/error.lua"
      """;

  @Test
  void everyScriptInTheFolderIsNamedByAConfigThatValidates(@TempDir Path dir) throws Exception {
    Set<String> named = new TreeSet<>();
    for (String yaml : new String[] {SEED_000, SEED_001}) {
      Matcher path = Pattern.compile("\\.\\./scripts/([a-z_]+\\.lua)").matcher(yaml);
      while (path.find()) {
        named.add(path.group(1));
      }
    }
    Set<String> inFolder;
    try (Stream<Path> files = Files.list(SCRIPTS)) {
      inFolder = files.map(f -> f.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(inFolder, named, "every file of scripts/ is used by a config here, and every one used exists");

    for (String yaml : new String[] {SEED_000, SEED_001}) {
      Path file = dir.resolve("config-" + yaml.hashCode() + ".yaml");
      Files.writeString(file, yaml.replace("{dir}", dir.toString()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int exit = Main.validate(file.toString(), new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8));
      assertEquals(0, exit, err + "\n" + out);
      String said = out + "\n" + err;
      assertFalse(said.contains(".lua:"), "no script is reported as failing to load: " + said);
    }
  }
}
