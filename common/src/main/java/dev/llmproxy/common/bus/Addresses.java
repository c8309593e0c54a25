package dev.llmproxy.common.bus;

/**
 * Event-bus addresses shared by every verticle. Verticles never call each other's classes;
 * these names are the whole contract between them (see ARCHITECTURE.md).
 */
public final class Addresses {

  /** request/reply, proxy to auth: key, client ip, method, path, model to a decision. */
  public static final String AUTH_CHECK = "llmproxy.auth.check";
  /**
   * {@link #AUTH_CHECK} answered only by the auth verticle of the asker's own JVM (a local consumer): in a cluster
   * a proxy whose JVM runs auth asks here, so that the hot path never crosses to another member. The launcher
   * tells the proxy which of the two addresses to use.
   */
  public static final String AUTH_CHECK_LOCAL = "llmproxy.auth.check.local";
  /** request/reply, auth to admin: a key's SHA-256 to the builtin store's record. */
  public static final String KEYS_LOOKUP = "llmproxy.keys.lookup";
  /** publish, admin and usage to auth: key id (or all) to drop from caches. */
  public static final String KEYS_CHANGED = "llmproxy.keys.changed";
  /** publish, discovery to proxy: the whole backend set with health. */
  public static final String BACKENDS_SNAPSHOT = "llmproxy.backends.snapshot";
  /**
   * request/reply, proxy to discovery: the current snapshot, asked once at start. A separate address
   * from {@link #BACKENDS_SNAPSHOT} so that the discovery verticle does not receive its own publications.
   */
  public static final String BACKENDS_CURRENT = "llmproxy.backends.current";
  /**
   * send, proxy to usage: one usage record ({@code dev.llmproxy.common.model.UsageRecord}, the raw key included:
   * the bus is memory, or the wire between members; the usage journal writes the key only hashed, masked and, with
   * {@code LLMPROXY_JOURNAL_KEY}, encrypted).
   */
  public static final String USAGE_RECORD = "llmproxy.usage.record";
  /**
   * send, local only, proxy to the usage hand-over of its own JVM: a usage record, on a cluster member that runs the
   * proxy but not the usage verticle. The hand-over journals it and sends it on to {@link #USAGE_RECORD} (asking for
   * the reply the usage verticle gives once the record is on its disk) when a usage member is up.
   */
  public static final String USAGE_HANDOVER = "llmproxy.usage.handover";
  /**
   * send, proxy to usage: one JSON object per inference request for {@code logging.request} (the columns of
   * {@code request_logs}: request_id, timestamp, client_ip, method, path, headers, request_body, response_body,
   * status_code, latency_ms, backend_url, api_key (masked), user_id, model, is_stream, error; plus key_id, key_name).
   */
  public static final String REQUEST_LOG = "llmproxy.request.log";
  /**
   * request/reply, usage to admin: {@code {"records": [usage record JSON, ...]}} for the builtin store's
   * {@code usage_records}. Idempotent by {@code request_id}; the reply {@code {"stored": n}} counts new rows.
   */
  public static final String USAGE_STORE = "llmproxy.usage.store";
  /**
   * request/reply, usage to admin: {@code {"request_id", "key_hash", "tokens"}} adds the tokens to a builtin key's
   * {@code used_quota}, once per {@code request_id}. Reply {@code {"charged": bool, "used_quota": n}}. Batched:
   * {@code {"charges": [...]}}, reply {@code {"charged": {key_hash: used_quota, ...}}}. A charge of a static key
   * carries {@code "static": {"quota_reset_period", "used_quota"}} (the key's configured values) and is kept in the
   * admin store's {@code static_key_usage} (see {@link #KEYS_USAGE}) instead of {@code api_keys}.
   */
  public static final String KEYS_CHARGE = "llmproxy.keys.charge";
  /**
   * request/reply, auth to the ledger of static keys' usage: {@code {"key_hash"}} to
   * {@code {"used_quota", "last_reset_at", "base_used_quota"}} ({@code dev.llmproxy.common.model.StaticKeyUsage}), or
   * null when the key was never charged. Answered by the admin verticle from its SQLite store when
   * {@code admin.enabled}, else by the usage verticle from memory (lost on restart; it warns at start).
   */
  public static final String KEYS_USAGE = "llmproxy.keys.usage";
  /**
   * request/reply, admin to proxy: the proxy's live view of each backend (in flight, recent latency,
   * ejection), shared by every proxy instance of the JVM.
   */
  public static final String BACKENDS_STATS = "llmproxy.backends.stats";
  /**
   * request/reply, admin to the proxies of one cluster member: {@link #BACKENDS_STATS}'s reply, of that member only.
   * The address followed by the member's node id ({@code llmproxy.backends.stats.<node id>}); registered in a cluster
   * only, so that {@code /admin/backends} lists every proxy member's view.
   */
  public static final String BACKENDS_STATS_MEMBER_PREFIX = "llmproxy.backends.stats.";
  /**
   * publish, the launcher of the member where a reload was asked for (the coordinator) to the launcher of every
   * member, itself included: a reload, in two phases.
   * <ul>
   *   <li>{@code {"reload_id", "phase": "apply", "config": canonical JSON, "version": n, "reply_to"}}: the config the
   *   coordinator has read and validated whole; each member applies the sections of its own roles (all or nothing
   *   in its JVM) and sends {@code {"reload_id", "node_id", "roles", "outcome": {"ok", "version", "changed",
   *   "restart_required", "applied", "error"?}}} to {@code reply_to} ({@link #CONFIG_RESULT_PREFIX} + reload id).
   *   <li>{@code {"reload_id", "phase": "roll_back", "reply_to"}}: a member failed; each member that applied this
   *   reload goes back to the config and version it ran before, and answers to {@code reply_to} the same way.
   * </ul>
   * The config carries secrets (keys, upstream keys): it travels the event bus like usage records do, never a log.
   */
  public static final String CONFIG_CHANGED = "llmproxy.config.changed";
  /** send, member to coordinator: the address prefix of one reload's results (see {@link #CONFIG_CHANGED}). */
  public static final String CONFIG_RESULT_PREFIX = "llmproxy.config.result.";
  /**
   * publish, local, launcher to the verticles of its JVM: {@code {"version": n, "config": canonical JSON}}, the
   * config that now runs in this member, sent once every verticle here has applied it (or gone back to it), so that
   * a follower such as {@code /admin/config} never shows what does not run.
   */
  public static final String CONFIG_RUNNING = "llmproxy.config.running";
  /**
   * request/reply, admin to the launcher of its JVM: read the config file again, validate it and apply it on every
   * member ({@link #CONFIG_CHANGED}). The reply is the reload's outcome: {@code {"ok", "version", "changed":
   * [section...], "restart_required": [path...], "applied": [verticle...], "members": [{"node_id", "roles", "ok",
   * "version", ...}], "error"?, "errors"?}}; nothing changed anywhere when not ok.
   */
  public static final String CONFIG_APPLY = "llmproxy.config.apply";
  /**
   * request/reply, admin to the launcher of one cluster member: the address followed by the member's node id
   * ({@code llmproxy.member.info.<node id>}); empty body to {@code {"node_id", "roles": [...], "config_version"}}.
   */
  public static final String MEMBER_INFO_PREFIX = "llmproxy.member.info.";
  /** request/reply, proxy to admin: an admin HTTP call relayed when admin.listen is empty. */
  public static final String ADMIN_HTTP = "llmproxy.admin.http";

  private Addresses() {
  }
}
