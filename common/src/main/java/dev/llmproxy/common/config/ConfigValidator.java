package dev.llmproxy.common.config;

import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/** Checks a read config as a whole: ranges, enums, references between sections, duplicates. */
final class ConfigValidator {

  private final GatewayConfig c;
  private final Problems problems;

  private ConfigValidator(GatewayConfig config, Problems problems) {
    this.c = config;
    this.problems = problems;
  }

  static void validate(GatewayConfig config, Problems problems) {
    ConfigValidator v = new ConfigValidator(config, problems);
    v.server();
    v.log();
    v.storage();
    v.storageAsBuilt();
    v.backends(config.backends(), "backends");
    v.providers();
    v.discovery();
    v.admin();
    v.auth();
    v.logging();
    v.logFiles();
    v.rateLimit();
    v.routing();
    v.routingSwitchedOff();
    v.healthCheck();
    v.metrics();
    EdgeChecks.check(config, problems);
    v.usage();
    v.hooks();
    v.staticQuotaWithoutAdmin();
    v.cluster();
    v.caching();
    v.condensation();
    v.reload();
    v.faultInjection();
    v.tracing();
  }

  /** Statuses, shares and counts in range; never a gateway path of its own; loud whenever it is on. */
  private void faultInjection() {
    FaultInjectionConfig f = c.faultInjection();
    for (int i = 0; i < f.faults().size(); i++) {
      FaultConfig fault = f.faults().get(i);
      String at = "fault_injection.faults[" + i + "]";
      for (int j = 0; j < fault.paths().size(); j++) {
        String path = fault.paths().get(j);
        if (!path.startsWith("/")) {
          problems.error(at + ".paths[" + j + "]", "must start with / (\"" + path + "\")");
        } else if (path.startsWith("/admin") || path.startsWith("/health") || path.equals("/ready")
            || path.equals("/metrics")) {
          problems.error(at + ".paths[" + j + "]", "faults are never injected into the gateway's own endpoints ("
              + path + ")");
        }
      }
      percentage(fault.delay().percentage(), at + ".delay.percentage");
      percentage(fault.abort().percentage(), at + ".abort.percentage");
      if (fault.abort().status() != 0 && (fault.abort().status() < 200 || fault.abort().status() > 599)) {
        problems.error(at + ".abort.status", "must be an HTTP status from 200 to 599 (" + fault.abort().status() + ")");
      }
      atLeast(fault.streamCutAfter(), 0, at + ".stream_cut_after");
      if (!fault.delay().on() && !fault.abort().on() && fault.streamCutAfter() == 0) {
        problems.warn(at, "injects nothing (no delay.fixed, abort.status or stream_cut_after)");
      }
    }
    if (f.active()) {
      problems.warn("fault_injection.enabled", "ON: faults are injected into live traffic: " + f.describe());
    } else if (f.enabled()) {
      problems.warn("fault_injection.enabled", "on, but no fault is listed in fault_injection.faults");
    }
  }

  private void percentage(double value, String path) {
    if (!(value >= 0 && value <= 100)) {
      problems.error(path, "must be from 0 to 100 (" + value + ")");
    }
  }


  // ---- sections ------------------------------------------------------------------------------

  private void server() {
    ServerConfig s = c.server();
    if (!ServerConfig.isHostPort(s.listen())) {
      problems.error("server.listen", "not host:port");
    }
    positive(s.maxHeaderBytes(), "server.max_header_bytes");
    positive(s.maxBodySize(), "server.max_body_size");
    atLeast(s.cors().maxAge(), 0, "server.cors.max_age");
    oneOf(s.tls().clientAuth(), "server.tls.client_auth", "none", "request", "require");
    if (s.tls().enabled()) {
      required(s.tls().certFile(), "server.tls.cert_file", "when tls is enabled");
      required(s.tls().keyFile(), "server.tls.key_file", "when tls is enabled");
    }
    if (s.h2c() && !s.http2()) {
      problems.error("server.h2c", "needs server.http2: true (h2c is HTTP/2 without TLS)");
    } else if (s.h2c() && s.tls().enabled()) {
      problems.warn("server.h2c", "not used: with server.tls enabled, HTTP/2 is offered by ALPN (server.http2)");
    }
    if (!s.tls().clientAuth().equals("none")) {
      required(s.tls().clientCaFile(), "server.tls.client_ca_file", "when client_auth is not none");
    }
  }

  private void log() {
    oneOf(c.log().level(), "log.level", "debug", "info", "warn", "error");
    oneOf(c.log().format(), "log.format", "json", "text");
    oneOf(c.log().output(), "log.output", "stdout", "stderr", "file");
    if (c.log().output().equals("file")) {
      required(c.log().file().path(), "log.file.path", "when log.output is file");
      oneOf(c.log().file().rotate(), "log.file.rotate", "daily", "hourly", "size");
    }
  }

  private void storage() {
    List<DatabaseConfig> dbs = c.storage().databases();
    unique(dbs, DatabaseConfig::name, "storage.databases");
    for (int i = 0; i < dbs.size(); i++) {
      DatabaseConfig d = dbs.get(i);
      String at = "storage.databases[" + i + "]";
      required(d.name(), at + ".name", "");
      if (oneOf(d.driver(), at + ".driver", "mysql", "postgres", "sqlite") && d.dsn().isEmpty()) {
        if (d.driver().equals("sqlite")) {
          required(d.path(), at + ".path", "for sqlite (or dsn)");
        } else {
          required(d.host(), at + ".host", "(or dsn)");
        }
      }
      port(d.port(), at + ".port");
      atLeast(d.maxOpenConns(), 0, at + ".max_open_conns");
      atLeast(d.maxIdleConns(), 0, at + ".max_idle_conns");
    }
    List<CacheConfig> caches = c.storage().caches();
    unique(caches, CacheConfig::name, "storage.caches");
    for (int i = 0; i < caches.size(); i++) {
      CacheConfig k = caches.get(i);
      String at = "storage.caches[" + i + "]";
      required(k.name(), at + ".name", "");
      if (oneOf(k.driver(), at + ".driver", "redis", "memory") && k.driver().equals("redis")) {
        required(k.addr(), at + ".addr", "for redis");
      }
      atLeast(k.db(), 0, at + ".db");
      positive(k.poolSize(), at + ".pool_size");
      atLeast(k.minIdleConns(), 0, at + ".min_idle_conns");
      positive(k.dialTimeout(), at + ".dial_timeout");
      positive(k.readTimeout(), at + ".read_timeout");
      positive(k.writeTimeout(), at + ".write_timeout");
      atLeast(k.maxSize(), 0, at + ".max_size");
    }
  }

  /**
   * What the Vert.x clients behind {@code storage} can and cannot do with the fields they are given, and which
   * consumers may use a memory cache ({@link CacheConsumer} decides).
   */
  private void storageAsBuilt() {
    List<DatabaseConfig> dbs = c.storage().databases();
    for (int i = 0; i < dbs.size(); i++) {
      DatabaseConfig d = dbs.get(i);
      if (d.enabled() && d.maxIdleConns() < d.maxOpenConns()) {
        problems.warn("storage.databases[" + i + "].max_idle_conns", "not enforced: a Vert.x SQL pool cannot cap its"
            + " idle connections; up to max_open_conns (" + d.maxOpenConns() + ") stay open until conn_max_idle_time ("
            + Durations.format(d.connMaxIdleTime()) + ") closes them");
      }
    }
    List<CacheConfig> caches = c.storage().caches();
    for (int i = 0; i < caches.size(); i++) {
      CacheConfig k = caches.get(i);
      if (k.enabled() && !k.isMemory() && k.minIdleConns() > 0) {
        problems.warn("storage.caches[" + i + "].min_idle_conns", "not used: the Vert.x Redis pool opens connections"
            + " when commands need them and keeps no minimum of idle ones");
      }
    }
    RateLimitConfig r = c.rateLimit();
    if (r.enabled() && r.storage().equals("redis")) {
      c.storage().cache(r.redis()).filter(CacheConfig::isMemory)
          .filter(k -> k.ttl().compareTo(CacheConsumer.RATE_LIMIT_MIN_TTL) < 0)
          .ifPresent(k -> problems.warn("storage.caches[" + caches.indexOf(k) + "].ttl", "rate_limit keeps an idle"
              + " key's counters for at least " + Durations.format(CacheConsumer.RATE_LIMIT_MIN_TTL) + " (its longest window), not "
              + Durations.format(k.ttl())));
    }
  }

  private void backends(List<BackendConfig> backends, String path) {
    unique(backends, BackendConfig::name, path);
    for (int i = 0; i < backends.size(); i++) {
      BackendConfig b = backends.get(i);
      String at = path + "[" + i + "]";
      httpUrl(b.url(), at + ".url");
      atLeast(b.weight(), 0, at + ".weight");
      if (b.timeout() != null) {
        positive(b.timeout(), at + ".timeout");
      }
      if (b.connectTimeout() != null) {
        positive(b.connectTimeout(), at + ".connect_timeout");
      }
      atLeast(b.maxIdleConns(), 0, at + ".max_idle_conns");
      oneOf(b.provider(), at + ".provider", BackendConfig.DIALECTS.toArray(String[]::new));
      atLeast(b.maxConnections(), 0, at + ".max_connections");
    }
  }

  /** {@code providers[]}: each a backend of the router; names unique among backends and providers. */
  private void providers() {
    List<ProviderConfig> providers = c.providers();
    Set<String> names = new HashSet<>();
    c.backends().forEach(b -> names.add(b.name()));
    for (int i = 0; i < providers.size(); i++) {
      if (!names.add(providers.get(i).name())) {
        problems.error("providers[" + i + "].name", "duplicate name \"" + providers.get(i).name() + "\"");
      }
    }
    for (int i = 0; i < providers.size(); i++) {
      ProviderConfig p = providers.get(i);
      String at = "providers[" + i + "]";
      required(p.name(), at + ".name", "");
      if (!ProviderConfig.TYPES.contains(p.type())) {
        problems.error(at + ".type", "unknown provider type '" + p.type() + "'; must be one of "
            + String.join(", ", ProviderConfig.TYPES));
        continue;
      }
      if (p.baseUrl().isEmpty()) {
        problems.error(at + ".base_url", "required for type " + p.type());
      } else {
        httpUrl(p.baseUrl(), at + ".base_url");
      }
      if (p.apiKeyEnv() == null && p.apiKey() == null && !p.type().equals("openai_compatible")) {
        problems.error(at + ".api_key_env", "required for type " + p.type() + " (the variable that holds its key)");
      }
      if (p.timeout() != null) {
        positive(p.timeout(), at + ".timeout");
      }
      if (p.connectTimeout() != null) {
        positive(p.connectTimeout(), at + ".connect_timeout");
      }
      atLeast(p.maxConnections(), 0, at + ".max_connections");
      if (p.fallbackProvider() != null && (!names.contains(p.fallbackProvider())
          || p.fallbackProvider().equals(p.name()))) {
        problems.error(at + ".fallback_provider", "'" + p.fallbackProvider()
            + "' is not another provider or backend");
      }
      if (p.retryAttempts() >= 0) {
        problems.warn(at + ".retry_attempts", "not supported per provider; routing.retry applies to every backend");
      }
      if (p.type().equals("azure_openai") && p.apiVersion() == null) {
        problems.error(at + ".api_version", "required for type azure_openai");
      }
    }
  }

  private void discovery() {
    DiscoveryConfig d = c.discovery();
    oneOf(d.mode(), "discovery.mode", "merge", "first");
    positive(d.interval(), "discovery.interval");
    unique(d.sources(), DiscoverySourceConfig::name, "discovery.sources");
    for (int i = 0; i < d.sources().size(); i++) {
      DiscoverySourceConfig s = d.sources().get(i);
      String at = "discovery.sources[" + i + "]";
      script(s.script(), at + ".script");
      if (!oneOf(s.type(), at + ".type", "database", "static", "consul", "kubernetes", "etcd", "http")
          || !s.enabled() || !d.enabled()) {
        continue;
      }
      switch (s.type()) {
        case "database" -> databaseRef(s.database().storage(), at + ".database.storage");
        case "static" -> backends(s.staticConfig().backends(), at + ".static.backends");
        case "consul" -> {
          httpUrl(s.consul().addr(), at + ".consul.addr");
          required(s.consul().service(), at + ".consul.service", "");
        }
        case "kubernetes" -> {
          required(s.kubernetes().service(), at + ".kubernetes.service", "");
          port(s.kubernetes().port(), at + ".kubernetes.port");
        }
        case "etcd" -> {
          if (s.etcd().endpoints().isEmpty()) {
            problems.error(at + ".etcd.endpoints", "required");
          }
        }
        default -> {
          httpUrl(s.http().url(), at + ".http.url");
          positive(s.http().timeout(), at + ".http.timeout");
        }
      }
    }
  }

  private void admin() {
    AdminConfig a = c.admin();
    if (a.enabled()) {
      required(a.token(), "admin.token", "when admin is enabled");
      required(a.dbPath(), "admin.db_path", "when admin is enabled");
    }
    if (!a.listen().isEmpty() && !ServerConfig.isHostPort(a.listen())) {
      problems.error("admin.listen", "not host:port");
    }
  }

  private void auth() {
    AuthConfig a = c.auth();
    oneOf(a.mode(), "auth.mode", "first_match", "all");
    oneOf(a.quotaEnforcement(), "auth.quota_enforcement", AuthConfig.QUOTA_SETTLE, AuthConfig.QUOTA_STRICT);
    if (a.headerNames().isEmpty()) {
      problems.error("auth.header_names", "must not be empty");
    }
    a.statusCodes().forEach((status, code) -> {
      String at = "auth.status_codes." + status;
      oneOf(status, at, "disabled", "expired", "quota_exceeded", "not_found");
      if (code.httpCode() < 100 || code.httpCode() > 599) {
        problems.error(at + ".http_code", "must be an HTTP status code (100-599)");
      }
    });
    positive(a.cacheTtl(), "auth.cache_ttl");
    positive(a.negativeCacheTtl(), "auth.negative_cache_ttl");
    unique(a.pipeline(), AuthProviderConfig::name, "auth.pipeline");
    for (int i = 0; i < a.pipeline().size(); i++) {
      AuthProviderConfig p = a.pipeline().get(i);
      String at = "auth.pipeline[" + i + "]";
      script(p.script(), at + ".script");
      if (!oneOf(p.type(), at + ".type", "builtin", "redis", "database", "webhook", "lua", "static")
          || !p.enabled()) {
        continue;
      }
      switch (p.type()) {
        case "builtin" -> builtinNeedsAdmin(at, "the builtin provider reads its keys from the admin key store",
            c.auth().enabled());
        case "redis" -> cacheRef(p.redis().storage(), at + ".redis.storage", CacheConsumer.AUTH_REDIS_PROVIDER);
        case "database" -> {
          databaseRef(p.database().storage(), at + ".database.storage");
          required(p.database().table(), at + ".database.table", "");
          required(p.database().keyColumn(), at + ".database.key_column", "");
        }
        case "webhook" -> {
          httpUrl(p.webhook().url(), at + ".webhook.url");
          positive(p.webhook().timeout(), at + ".webhook.timeout");
        }
        case "lua" -> {
          if (!p.lua().hasSource()) {
            problems.error(at + ".lua", "path or script required");
          }
          script(p.lua(), at + ".lua");
        }
        default -> staticKeys(p.staticConfig().keys(), at + ".static.keys");
      }
    }
  }

  private void staticKeys(List<ApiKeyConfig> keys, String path) {
    unique(keys, ApiKeyConfig::key, path);
    for (int i = 0; i < keys.size(); i++) {
      ApiKeyConfig k = keys.get(i);
      String at = path + "[" + i + "]";
      required(k.key(), at + ".key", "");
      oneOf(k.status(), at + ".status", "enabled", "active", "disabled", "expired", "quota_exceeded",
          "0", "1", "2", "3");
      oneOf(k.quotaResetPeriod(), at + ".quota_reset_period", "daily", "weekly", "monthly", "never");
      atLeast(k.totalQuota(), 0, at + ".total_quota");
      atLeast(k.usedQuota(), 0, at + ".used_quota");
    }
  }

  private void logging() {
    LoggingConfig l = c.logging();
    RequestLogConfig r = l.request();
    script(r.script(), "logging.request.script");
    script(l.access().script(), "logging.access.script");
    if (l.enabled() && r.enabled()) {
      if (r.storage().isEmpty() && !r.writesLines()) {
        problems.error("logging.request.storage",
            "required (or logging.request.file.path, or logging.request.stdout) when request logging is enabled");
      } else if (!r.storage().isEmpty()) {
        databaseRef(r.storage(), "logging.request.storage");
      }
    }
    oneOf(l.access().format(), "logging.access.format", "combined", "json");
    if (oneOf(l.access().output(), "logging.access.output", "file", "stdout") && l.enabled() && l.access().enabled()
        && l.access().output().equals("file")) {
      required(l.access().file().path(), "logging.access.file.path", "when logging.access.output is file");
    }
  }

  /** The {@code file:} blocks of {@code logging.request} and {@code logging.access} (seed 001's rotate and max_age). */
  private void logFiles() {
    logFile(c.logging().request().file(), "logging.request.file");
    logFile(c.logging().access().file(), "logging.access.file");
  }

  private void logFile(LogTargetFileConfig f, String at) {
    if (!f.rotate().isEmpty()) {
      oneOf(f.rotate(), at + ".rotate", "size", "daily", "hourly");
    }
    atLeast(f.maxAge(), 0, at + ".max_age");
    atLeast(f.maxBackups(), 0, at + ".max_backups");
    positive(f.maxSizeMb(), at + ".max_size_mb");
  }

  private void rateLimit() {
    RateLimitConfig r = c.rateLimit();
    if (oneOf(r.storage(), "rate_limit.storage", "memory", "redis") && r.storage().equals("redis") && r.enabled()) {
      if (r.redis().isEmpty()) {
        problems.error("rate_limit.redis", "required when rate_limit.storage is redis");
      } else {
        cacheRef(r.redis(), "rate_limit.redis", CacheConsumer.RATE_LIMIT);
      }
    }
    oneOf(r.onStoreError(), "rate_limit.on_store_error", "allow", "deny");
    positive(r.storeTimeout(), "rate_limit.store_timeout");
    atLeast(r.defaultCompletionTokens(), 0, "rate_limit.default_completion_tokens");
    script(r.script(), "rate_limit.script");
    tier(r.global(), "rate_limit.global");
    tier(r.perKey(), "rate_limit.per_key");
  }

  private void tier(RateLimitTierConfig t, String at) {
    atLeast(t.requestsPerSecond(), 0, at + ".requests_per_second");
    atLeast(t.requestsPerMinute(), 0, at + ".requests_per_minute");
    atLeast(t.tokensPerMinute(), 0, at + ".tokens_per_minute");
    atLeast(t.maxConcurrent(), 0, at + ".max_concurrent");
    atLeast(t.burstSize(), 0, at + ".burst_size");
  }

  /** {@code routing.enabled: false} turns the section's features off ({@link RoutingConfig#inEffect()}): say which. */
  private void routingSwitchedOff() {
    RoutingConfig r = c.routing();
    if (r.enabled()) {
      return;
    }
    String because = "is not used because routing.enabled is false (requests go round robin, tried once)";
    if (!r.loadBalance().equals("round_robin")) {
      problems.warn("routing.load_balance", r.loadBalance() + " " + because);
    }
    if (r.script().enabled()) {
      problems.warn("routing.script", because);
    }
    if (r.retry().enabled() && r.retry().maxRetries() > 0) {
      problems.warn("routing.retry", because);
    }
    if (!r.fallback().isEmpty()) {
      problems.warn("routing.fallback", because);
    }
    if (r.affinity().enabled()) {
      problems.warn("routing.affinity", because);
    }
  }

  private void routing() {
    RoutingConfig r = c.routing();
    oneOf(r.loadBalance(), "routing.load_balance", RoutingConfig.STRATEGIES.toArray(String[]::new));
    positive(r.timeout(), "routing.timeout");
    positive(r.connectTimeout(), "routing.connect_timeout");
    script(r.script(), "routing.script");
    RetryConfig retry = r.retry();
    atLeast(retry.maxRetries(), 0, "routing.retry.max_retries");
    positive(retry.initialWait(), "routing.retry.initial_wait");
    positive(retry.maxWait(), "routing.retry.max_wait");
    if (retry.maxWait().compareTo(retry.initialWait()) < 0) {
      problems.error("routing.retry.max_wait", "must be >= routing.retry.initial_wait");
    }
    if (!(retry.multiplier() >= 1)) {
      problems.error("routing.retry.multiplier", "must be >= 1");
    }
    for (int i = 0; i < retry.retryOn().size(); i++) {
      String on = retry.retryOn().get(i);
      if (!on.matches("5xx|4xx|connect_failure|timeout|reset|\\d{3}")) {
        problems.error("routing.retry.retry_on[" + i + "]",
            "must be one of 5xx, 4xx, connect_failure, timeout, reset or a status code (\"" + on + "\")");
      }
    }
    for (int i = 0; i < r.fallback().size(); i++) {
      FallbackConfig f = r.fallback().get(i);
      String at = "routing.fallback[" + i + "]";
      httpUrl(f.primary(), at + ".primary");
      for (int j = 0; j < f.fallback().size(); j++) {
        httpUrl(f.fallback().get(j), at + ".fallback[" + j + "]");
      }
    }
    if (r.affinity().enabled() && r.affinity().header().isEmpty()) {
      oneOf(r.affinity().key(), "routing.affinity.key", "api_key", "user_id");
    }
    flowControl(r.flowControl());
    prefixAware(r);
  }

  private void prefixAware(RoutingConfig r) {
    PrefixAwareConfig p = r.prefixAware();
    String at = "routing.prefix_aware.";
    if (p.prefixChars() < 1 || p.prefixChars() > PrefixAwareConfig.MAX_PREFIX_CHARS) {
      problems.error(at + "prefix_chars", "must be from 1 to " + PrefixAwareConfig.MAX_PREFIX_CHARS);
    }
    if (!(p.loadFactor() >= 1) || Double.isInfinite(p.loadFactor())) {
      problems.error(at + "load_factor", "must be a number >= 1");
    }
    if (!"prefix_aware".equals(r.loadBalance()) && !p.equals(PrefixAwareConfig.DEFAULT)) {
      problems.warn("routing.prefix_aware", "is not used unless routing.load_balance is prefix_aware");
    }
  }

  private void flowControl(FlowControlConfig f) {
    String at = "routing.flow_control.";
    atLeast(f.maxInFlight(), 0, at + "max_in_flight");
    atLeast(f.maxWaiting(), 0, at + "max_waiting");
    if (f.maxWaiting() == 0 && f.maxInFlight() <= 0) {
      // Else a backend whose engine does not report its slots would have no capacity to hold requests to.
      problems.error(at + "max_waiting", "0 (send only to a free slot) needs max_in_flight > 0: the slots of a backend"
          + " whose engine does not report them (only llama.cpp does, in GET /props)");
    }
    if (!(f.maxKvCache() > 0 && f.maxKvCache() <= 1)) {
      problems.error(at + "max_kv_cache", "must be > 0 and <= 1");
    }
    if (f.priorityHeader().isBlank()) {
      problems.error(at + "priority_header", "must name a header");
    }
    atLeast(f.maxQueue(), 1, at + "max_queue");
    positive(f.maxWait(), at + "max_wait");
  }

  private void healthCheck() {
    HealthCheckConfig h = c.healthCheck();
    positive(h.interval(), "health_check.interval");
    positive(h.timeout(), "health_check.timeout");
    oneOf(h.method(), "health_check.method", "GET", "HEAD", "POST");
    if (!h.path().startsWith("/")) {
      problems.error("health_check.path", "must start with /");
    }
    if (h.expectedStatus() < 100 || h.expectedStatus() > 599) {
      problems.error("health_check.expected_status", "must be an HTTP status code (100-599)");
    }
    atLeast(h.unhealthyThreshold(), 1, "health_check.unhealthy_threshold");
    atLeast(h.healthyThreshold(), 1, "health_check.healthy_threshold");
    script(h.script(), "health_check.script");
  }

  private void metrics() {
    MetricsConfig m = c.metrics();
    if (!m.path().startsWith("/")) {
      problems.error("metrics.path", "must start with /");
    }
    List<Double> buckets = m.latencyBuckets();
    for (int i = 0; i < buckets.size(); i++) {
      if (!(buckets.get(i) > 0) || (i > 0 && buckets.get(i) <= buckets.get(i - 1))) {
        problems.error("metrics.latency_buckets[" + i + "]", "buckets must be positive and increasing");
      }
    }
  }

  private void tracing() {
    TracingConfig t = c.tracing();
    oneOf(t.exporter(), "tracing.exporter", TracingConfig.OTLP);
    if (!(t.sampleRate() >= 0 && t.sampleRate() <= 1)) {
      problems.error("tracing.sample_rate", "must be between 0 and 1");
    }
    if (t.serviceName().isBlank()) {
      problems.error("tracing.service_name", "must not be empty");
    }
    if (!t.endpoint().matches("https?://[^/\\s]+(/\\S*)?")) {
      problems.error("tracing.endpoint", "not an http(s) URL");
    }
  }

  private void usage() {
    UsageConfig u = c.usage();
    if (u.enabled()) {
      required(u.journalPath(), "usage.journal_path", "when usage is enabled");
    }
    positive(u.journalFsyncInterval(), "usage.journal_fsync_interval");
    if (u.journalFsyncInterval().compareTo(Duration.ofSeconds(1)) > 0) {
      // Records wait for it: longer only widens what a crash can lose.
      problems.error("usage.journal_fsync_interval", "must be at most 1s");
    }
    unique(u.reporters(), ReporterConfig::name, "usage.reporters");
    for (int i = 0; i < u.reporters().size(); i++) {
      ReporterConfig r = u.reporters().get(i);
      String at = "usage.reporters[" + i + "]";
      script(r.script(), at + ".script");
      if (!oneOf(r.type(), at + ".type", "builtin", "webhook", "database") || !r.enabled()) {
        continue;
      }
      switch (r.type()) {
        case "builtin" -> {
          atLeast(r.builtin().retentionDays(), 0, at + ".builtin.retention_days");
          builtinNeedsAdmin(at, "the builtin reporter stores records in the admin module's database", u.enabled());
        }
        case "webhook" -> {
          httpUrl(r.webhook().url(), at + ".webhook.url");
          positive(r.webhook().timeout(), at + ".webhook.timeout");
          atLeast(r.webhook().retry(), 0, at + ".webhook.retry");
          atLeast(r.webhook().maxInFlight(), 1, at + ".webhook.max_in_flight");
          between(r.webhook().batchSize(), 1, WebhookReporterConfig.MAX_BATCH_SIZE, at + ".webhook.batch_size");
        }
        default -> {
          databaseRef(r.database().storage(), at + ".database.storage");
          required(r.database().table(), at + ".database.table", "");
        }
      }
    }
  }

  private void hooks() {
    c.hooks().byName().forEach((name, hook) -> script(hook, "hooks." + name));
  }

  private void caching() {
    ResponseCacheConfig rc = c.caching().responseCache();
    if (!c.caching().responseCacheOn()) {
      return;
    }
    positive(rc.maxSizeMb(), "caching.response_cache.max_size_mb");
    if (rc.ttl().isZero() || rc.ttl().isNegative()) {
      problems.error("caching.response_cache.ttl", "must be > 0");
    }
    if (!rc.inMemory()) {
      cacheRef(rc.storage(), "caching.response_cache.storage", CacheConsumer.RESPONSE_CACHE);
    }
  }

  private void condensation() {
    double f = c.condensation().dropFraction();
    if (!(f > 0 && f < 1)) {
      problems.error("condensation.adaptive_factor", "must be between 0 and 1 (the share of messages dropped)");
    }
  }

  // ---- what start-up needs from other sections (issue 13) -------------------------------------

  /** A named cache that exists, is enabled, and suits its consumer ({@link CacheConsumer} decides about memory). */
  private void cacheRef(String name, String path, CacheConsumer consumer) {
    if (name.isEmpty()) {
      problems.error(path, "required");
      return;
    }
    Optional<CacheConfig> cache = c.storage().cache(name);
    if (cache.isEmpty()) {
      problems.error(path, "no cache named \"" + name + "\" in storage.caches");
    } else if (!cache.get().enabled()) {
      problems.error(path, "the cache \"" + name + "\" is disabled in storage.caches (enabled: false)");
    } else {
      consumer.refusal(cache.get()).ifPresent(reason ->
          problems.error(path, "\"" + name + "\" is a " + cache.get().driver() + " cache: " + reason));
    }
  }

  /** Seed 000: the builtin provider and reporter live on the admin module's SQLite store, which only admin opens. */
  private void builtinNeedsAdmin(String path, String why, boolean used) {
    if (used && !c.admin().enabled()) {
      problems.error(path + ".type", "builtin requires admin.enabled: true (" + why + ")");
    }
  }

  private void reload() {
    if (c.reload().scanPeriod().compareTo(Duration.ofMillis(100)) < 0) {
      problems.error("reload.scan_period", "must be at least 100ms");
    }
    Duration lock = c.reload().lockTimeout();
    if (lock.isNegative() || lock.compareTo(ReloadConfig.MAX_LOCK_TIMEOUT) > 0) {
      problems.error("reload.lock_timeout", "must be between 0s and " + ReloadConfig.MAX_LOCK_TIMEOUT.toSeconds() + "s");
    }
  }

  /** A static key's quota is charged in the admin store; with admin off it is counted in memory, until a restart. */
  private void cluster() {
    ClusterConfig cl = c.cluster();
    List<String> roles = cl.roles();
    for (int i = 0; i < roles.size(); i++) {
      if (oneOf(roles.get(i), "cluster.roles[" + i + "]", ClusterConfig.ALL_ROLES.toArray(String[]::new))
          && roles.indexOf(roles.get(i)) < i) {
        problems.error("cluster.roles[" + i + "]", "duplicate role \"" + roles.get(i) + "\"");
      }
    }
    if (!cl.enabled()) {
      if (!roles.containsAll(ClusterConfig.ALL_ROLES)) {
        problems.warn("cluster.roles", "not used while cluster.enabled is false: one JVM deploys every verticle");
      }
      return;
    }
    if (roles.isEmpty()) {
      problems.error("cluster.roles", "must name at least one role when cluster.enabled is true");
    }
    required(cl.name(), "cluster.name", "when cluster.enabled is true");
    required(cl.host(), "cluster.host", "when cluster.enabled is true");
    if (cl.port() < 1 || cl.port() > 65535) {
      problems.error("cluster.port", "must be a port (1-65535)");
    }
    positive(cl.usageHandover().maxRecords(), "cluster.usage_handover.max_records");
    positive(cl.usageHandover().ackTimeout(), "cluster.usage_handover.ack_timeout");
    List<String> members = cl.members();
    for (int i = 0; i < members.size(); i++) {
      if (!ServerConfig.isHostPort(members.get(i)) || members.get(i).startsWith(":")) {
        problems.error("cluster.members[" + i + "]", "not host:port");
      }
    }
    RateLimitConfig r = c.rateLimit();
    boolean memoryCounters = r.storage().equals("memory")
        || c.storage().cache(r.redis()).map(CacheConfig::isMemory).orElse(false);
    if (r.enabled() && cl.roles().contains(ClusterConfig.PROXY) && memoryCounters) {
      problems.warn("rate_limit.storage", "counters are in this member's memory: with cluster.enabled each member"
          + " limits alone (a limit is exact across members only with storage: redis on a Redis cache)");
    }
  }

  private void staticQuotaWithoutAdmin() {
    if (!c.auth().enabled() || c.admin().enabled()) {
      return;
    }
    List<AuthProviderConfig> pipeline = c.auth().pipeline();
    for (int i = 0; i < pipeline.size(); i++) {
      AuthProviderConfig provider = pipeline.get(i);
      if (!provider.enabled() || !provider.type().equals("static")) {
        continue;
      }
      List<ApiKeyConfig> keys = provider.staticConfig().keys();
      for (int k = 0; k < keys.size(); k++) {
        if (keys.get(k).totalQuota() > 0) {
          problems.warn("auth.pipeline[" + i + "].static.keys[" + k + "].total_quota", "the key's used quota is kept"
              + " in memory only, because admin is disabled (the builtin store would keep it); a restart starts it"
              + " again from its used_quota");
        }
      }
    }
  }

  // ---- checks --------------------------------------------------------------------------------

  private void script(ScriptConfig s, String path) {
    if (s.enabled() && !s.hasSource()) {
      problems.error(path, "path or script required when enabled");
    }
    positive(s.timeout(), path + ".timeout");
    atLeast(s.maxMemory(), 0, path + ".max_memory");
  }

  private void databaseRef(String name, String path) {
    if (name.isEmpty()) {
      problems.error(path, "required");
    } else if (c.storage().database(name).isEmpty()) {
      problems.error(path, "no database named \"" + name + "\" in storage.databases");
    }
  }

  private void httpUrl(String url, String path) {
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme();
      if (scheme != null && (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          && uri.getHost() != null) {
        return;
      }
    } catch (Exception e) {
      // reported below
    }
    problems.error(path, "not an http(s) URL");
  }

  private boolean oneOf(String value, String path, String... allowed) {
    for (String a : allowed) {
      if (a.equals(value)) {
        return true;
      }
    }
    problems.error(path, "must be one of " + String.join(", ", allowed));
    return false;
  }

  private void required(String value, String path, String when) {
    if (value.isBlank()) {
      problems.error(path, when.isEmpty() ? "required" : "required " + when);
    }
  }

  private void positive(long value, String path) {
    if (value <= 0) {
      problems.error(path, "must be > 0");
    }
  }

  private void positive(Duration value, String path) {
    if (value.isZero() || value.isNegative()) {
      problems.error(path, "must be > 0");
    }
  }

  private void atLeast(long value, long min, String path) {
    if (value < min) {
      problems.error(path, "must be >= " + min);
    }
  }

  private void between(long value, long min, long max, String path) {
    if (value < min || value > max) {
      problems.error(path, "must be between " + min + " and " + max);
    }
  }

  private void port(int port, String path) {
    if (port < 0 || port > 65535) {
      problems.error(path, "must be a port (0-65535)");
    }
  }

  private <T> void unique(List<T> items, Function<T, String> name, String path) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < items.size(); i++) {
      String n = name.apply(items.get(i));
      if (!n.isEmpty() && !seen.add(n)) {
        problems.error(path + "[" + i + "].name", "duplicate name \"" + n + "\"");
      }
    }
  }
}
