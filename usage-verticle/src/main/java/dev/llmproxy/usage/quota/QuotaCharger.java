package dev.llmproxy.usage.quota;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.bus.KeyLookup;
import dev.llmproxy.common.config.ApiKeyConfig;
import dev.llmproxy.common.config.AuthProviderConfig;
import dev.llmproxy.common.config.DatabaseAuthConfig;
import dev.llmproxy.common.model.QuotaPeriods;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.storage.Dialect;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.usage.reporter.Reporter;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quota accounting, fed from the journal like a reporter: a record with tokens and a key adds its total tokens to
 * the key's {@code used_quota} in the store named by {@link UsageRecord#keySource()}, once per request id, then
 * publishes {@link Addresses#KEYS_CHANGED} so that the auth caches drop the key.
 * <ul>
 *   <li>{@code builtin}: {@link Addresses#KEYS_CHARGE} to the admin verticle, a delivery's charges in one batch; it
 *       charges once per request id and publishes the key changes itself.</li>
 *   <li>{@code redis}: one Lua script sets a marker {@code llmproxy:usage:charged:<request id>} (NX, 7 days) and
 *       only when it was new adds to the key record: HINCRBY on a hash, or the field of a JSON string record.</li>
 *   <li>{@code database}: in one transaction, the request id into {@code llmproxy_quota_charges} (ignored when
 *       there) and, only when it was new, {@code UPDATE <table> SET used_quota = used_quota + ? WHERE <key> = ?}.</li>
 *   <li>{@code static}, for a key with a {@code total_quota}: with {@code admin} enabled, {@link Addresses#KEYS_CHARGE}
 *       like builtin keys, marked {@code static} with the key's configured period and {@code used_quota}, kept in the
 *       admin store's {@code static_key_usage} by the key's hash (it survives a restart); with {@code admin} off, in
 *       this verticle's memory ({@link StaticUsageMemory}, lost on restart, warned about at start). Either way the
 *       auth verticle reads it back over {@link Addresses#KEYS_USAGE}.</li>
 *   <li>{@code webhook}, {@code lua}: the key lives in no store of ours; nothing is charged.</li>
 * </ul>
 * Redis and database charges need the raw key (those stores are keyed by it); a record read back from the journal
 * after a restart without {@code LLMPROXY_JOURNAL_KEY} may have lost it, and is then not charged (logged).
 */
public final class QuotaCharger implements Reporter {

  static final String CHARGES_TABLE = "llmproxy_quota_charges";
  static final long MARKER_TTL_SECONDS = 7 * 24 * 3600;
  private static final long REPLY_TIMEOUT_MS = 10_000;
  /**
   * KEYS: the key record, the request's charge marker. ARGV: tokens, marker TTL, now, then the starts of the current
   * daily, weekly and monthly periods (RFC 3339 UTC). The period rule is {@link QuotaPeriods#charge}'s; times are
   * compared on their first 19 characters, which orders RFC 3339 and SQL-style UTC times alike.
   */
  private static final String REDIS_CHARGE = """
      if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) then return -2 end
      local tokens = tonumber(ARGV[1])
      local starts = {daily = ARGV[4], weekly = ARGV[5], monthly = ARGV[6]}
      local function norm(t) return string.sub((string.gsub(tostring(t), ' ', 'T')), 1, 19) end
      local function charged(used, period, last)
        used = tonumber(used) or 0
        local start = period and starts[string.lower(tostring(period))]
        if not start then return used + tokens, nil end
        if not last or last == '' or last == cjson.null then return used + tokens, ARGV[3] end
        if norm(last) < norm(start) then return tokens, ARGV[3] end
        return used + tokens, nil
      end
      local kind = redis.call('TYPE', KEYS[1])['ok']
      if kind == 'hash' then
        local f = redis.call('HMGET', KEYS[1], 'used_quota', 'quota_reset_period', 'last_reset_at')
        local used, stamp = charged(f[1], f[2] or nil, f[3] or nil)
        redis.call('HSET', KEYS[1], 'used_quota', used)
        if stamp then redis.call('HSET', KEYS[1], 'last_reset_at', stamp) end
        return used
      end
      if kind == 'string' then
        local ok, record = pcall(cjson.decode, redis.call('GET', KEYS[1]))
        if ok and type(record) == 'table' then
          local used, stamp = charged(record['used_quota'], record['quota_reset_period'], record['last_reset_at'])
          record['used_quota'] = used
          if stamp then record['last_reset_at'] = stamp end
          redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
          return used
        end
      end
      return -1
      """;

  private static final Logger LOG = LoggerFactory.getLogger(QuotaCharger.class);

  private final EventBus bus;
  private final Pools pools;
  private final Map<String, AuthProviderConfig> providers;
  /** Per static provider: its keys with a {@code total_quota}, by hash. */
  private final Map<String, Map<String, ApiKeyConfig>> staticKeys = new HashMap<>();
  /** Where static keys' usage is kept when there is no admin store; null when there is one (or no such key). */
  private final StaticUsageMemory staticMemory;
  private final Set<String> chargesTableReady = new HashSet<>();
  private final Map<String, KeyTable> keyTables = new HashMap<>();

  /**
   * @param adminStore the admin verticle keeps the builtin store ({@code admin.enabled}): static keys' usage goes
   *                   there, else it stays in memory
   */
  public QuotaCharger(EventBus bus, Pools pools, List<AuthProviderConfig> pipeline, boolean adminStore) {
    this.bus = bus;
    this.pools = pools;
    this.providers = pipeline.stream().collect(Collectors.toMap(AuthProviderConfig::name, Function.identity(),
        (a, b) -> a));
    for (int i = 0; i < pipeline.size(); i++) {
      AuthProviderConfig provider = pipeline.get(i);
      if (!provider.enabled() || !provider.type().equals("static")) {
        continue;
      }
      Map<String, ApiKeyConfig> keys = new HashMap<>();
      List<ApiKeyConfig> configured = provider.staticConfig().keys();
      for (int k = 0; k < configured.size(); k++) {
        ApiKeyConfig key = configured.get(k);
        if (key.totalQuota() > 0 && !key.key().isEmpty()) {
          // With admin off the count lives in memory; validation warns about it by the key's path.
          keys.putIfAbsent(KeyHash.sha256Hex(key.key()), key);
        }
      }
      staticKeys.put(provider.name(), keys);
    }
    boolean staticQuota = staticKeys.values().stream().anyMatch(keys -> !keys.isEmpty());
    this.staticMemory = staticQuota && !adminStore ? new StaticUsageMemory() : null;
  }

  /** True when some provider of the pipeline keeps keys in a store this class charges. */
  public static boolean charges(List<AuthProviderConfig> pipeline) {
    // A static provider only when one of its keys has a quota: otherwise there is nothing to charge, and static
    // auth alone would run the journal and a reader of every record (~20 µs of gateway CPU per request at -c32).
    return pipeline.stream().anyMatch(p -> p.enabled() && (p.type().equals("static")
        ? p.staticConfig().keys().stream().anyMatch(k -> k.totalQuota() > 0)
        : chargeable(p.type())));
  }

  private static boolean chargeable(String type) {
    return type.equals("builtin") || type.equals("redis") || type.equals("database") || type.equals("static");
  }

  /** Serves the static keys' usage kept in memory, when that is where it is kept. */
  public Future<Void> start() {
    return staticMemory == null ? Future.succeededFuture() : staticMemory.serve(bus);
  }

  /** Raw keys of static keys with a quota, by hash: known from the config, so never lost to a restart. */
  public Map<String, String> staticRawKeys() {
    Map<String, String> raw = new HashMap<>();
    staticKeys.values().forEach(keys -> keys.forEach((hash, key) -> raw.put(hash, key.key())));
    return raw;
  }

  @Override
  public String name() {
    return "quota";
  }

  @Override
  public int maxBatch() {
    return 100;
  }

  @Override
  public JsonObject payload(UsageRecord record) {
    return record.toJson();
  }

  /**
   * Charges are commutative, so the builtin ones of a delivery go to the admin verticle as one batch (one SQLite
   * transaction there) and the others one by one.
   */
  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    JsonArray builtin = new JsonArray();
    Set<String> chargedInMemory = new LinkedHashSet<>();
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject payload : payloads) {
      UsageRecord record = UsageRecord.fromJson(payload);
      AuthProviderConfig provider = chargedStore(record);
      if (provider == null) {
        continue;
      }
      switch (provider.type()) {
        case "builtin" -> builtin.add(builtinCharge(record));
        case "static" -> {
          ApiKeyConfig key = staticKeys.getOrDefault(provider.name(), Map.of()).get(record.keyHash());
          if (key == null) {
            continue; // no quota: nothing to count
          }
          if (staticMemory == null) {
            builtin.add(builtinCharge(record).put("static", new JsonObject()
                .put("quota_reset_period", key.quotaResetPeriod()).put("used_quota", key.usedQuota())));
          } else if (staticMemory.charge(record.requestId(), record.keyHash(), record.totalTokens(),
              key.quotaResetPeriod(), key.usedQuota())) {
            chargedInMemory.add(record.keyHash());
          }
        }
        default -> {
          if (record.apiKey() == null) {
            LOG.warn("quota: request {} of key {} ({} tokens) is not charged to {}: its raw key, which that store is "
                    + "keyed by, was lost with a restart (set LLMPROXY_JOURNAL_KEY to keep it encrypted in the journal)",
                record.requestId(), record.keyId(), record.totalTokens(), provider.name());
            continue;
          }
          chain = chain.compose(v -> charge(record, provider));
        }
      }
    }
    chargedInMemory.forEach(this::keyChanged);
    return builtin.isEmpty() ? chain : chain.compose(v -> chargeBuiltin(builtin));
  }

  private static JsonObject builtinCharge(UsageRecord record) {
    return new JsonObject().put("request_id", record.requestId()).put(KeyLookup.KEY_HASH, record.keyHash())
        .put("tokens", record.totalTokens());
  }

  private void keyChanged(String keyHash) {
    bus.publish(Addresses.KEYS_CHANGED, new JsonObject().put(KeyLookup.KEY_HASH, keyHash));
  }

  /** The auth provider whose store holds the record's key, when the record has tokens to charge there. */
  private AuthProviderConfig chargedStore(UsageRecord record) {
    AuthProviderConfig provider = record.keySource() == null ? null : providers.get(record.keySource());
    if (record.totalTokens() <= 0 || !record.hasKey() || provider == null || !chargeable(provider.type())) {
      return null;
    }
    return provider;
  }

  private Future<Void> charge(UsageRecord record, AuthProviderConfig provider) {
    String keyHash = record.keyHash();
    Future<Boolean> charged = provider.type().equals("redis")
        ? chargeRedis(record, provider)
        : chargeDatabase(record, provider.database());
    return charged.map(changed -> {
      if (changed) {
        keyChanged(keyHash);
      }
      return null;
    });
  }

  /**
   * The admin verticle charges builtin and static keys once per request id and tells the auth caches about the keys
   * it charged.
   */
  private Future<Void> chargeBuiltin(JsonArray charges) {
    return bus.<JsonObject>request(Addresses.KEYS_CHARGE, new JsonObject().put("charges", charges),
            new DeliveryOptions().setSendTimeout(REPLY_TIMEOUT_MS))
        .mapEmpty();
  }

  private Future<Boolean> chargeRedis(UsageRecord record, AuthProviderConfig provider) {
    RedisAPI redis = RedisAPI.api(pools.redis(provider.redis().storage()));
    String key = provider.redis().keyPattern().replace("{api_key}", record.apiKey());
    String marker = "llmproxy:usage:charged:" + record.requestId();
    Instant now = Instant.now();
    return redis.eval(List.of(REDIS_CHARGE, "2", key, marker, Long.toString(record.totalTokens()),
            Long.toString(MARKER_TTL_SECONDS), stamp(now), periodStart("daily", now), periodStart("weekly", now),
            periodStart("monthly", now)))
        .map(result -> result != null && result.toLong() >= 0);
  }

  private Future<Boolean> chargeDatabase(UsageRecord record, DatabaseAuthConfig config) {
    SqlDatabase database = pools.database(config.storage());
    Dialect dialect = database.dialect();
    String insert = switch (dialect) {
      case POSTGRES -> "INSERT INTO " + CHARGES_TABLE + " (request_id) VALUES ($1) ON CONFLICT DO NOTHING";
      case MYSQL -> "INSERT IGNORE INTO " + CHARGES_TABLE + " (request_id) VALUES (?)";
      case SQLITE -> "INSERT OR IGNORE INTO " + CHARGES_TABLE + " (request_id) VALUES (?)";
    };
    return chargesTable(database).compose(v -> keyTable(database, config)).compose(table ->
        database.pool().withTransaction(conn -> conn.preparedQuery(insert).execute(Tuple.of(record.requestId()))
            .compose(inserted -> inserted.rowCount() == 0
                ? Future.succeededFuture(false)
                : table.charge(conn, dialect, record.apiKey(), record.totalTokens()))));
  }

  /** What the key table can hold, looked at once per table. */
  private Future<KeyTable> keyTable(SqlDatabase database, DatabaseAuthConfig config) {
    String name = database.name() + "/" + config.table();
    KeyTable known = keyTables.get(name);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    return KeyTable.inspect(database, config).onSuccess(table -> keyTables.put(name, table));
  }

  private static String periodStart(String period, Instant now) {
    return stamp(QuotaPeriods.start(period, now).orElseThrow());
  }

  private static String stamp(Instant time) {
    return time.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private Future<Void> chargesTable(SqlDatabase database) {
    if (chargesTableReady.contains(database.name())) {
      return Future.succeededFuture();
    }
    String created = database.dialect() == Dialect.MYSQL ? "DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
        : database.dialect() == Dialect.POSTGRES ? "TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP"
        : "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP";
    return database.pool().query("CREATE TABLE IF NOT EXISTS " + CHARGES_TABLE
            + " (request_id VARCHAR(128) NOT NULL PRIMARY KEY, charged_at " + created + ")").execute()
        .onSuccess(r -> chargesTableReady.add(database.name()))
        .mapEmpty();
  }
}
