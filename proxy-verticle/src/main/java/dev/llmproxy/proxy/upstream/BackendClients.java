package dev.llmproxy.proxy.upstream;

import dev.llmproxy.common.model.Backend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.PoolOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The keep-alive pools of one proxy verticle instance, one per backend. Created on the instance's event
 * loop, so that a request and its upstream connection never change threads.
 */
public final class BackendClients {

  private static final Logger LOG = LoggerFactory.getLogger(BackendClients.class);

  /**
   * LLM servers queue work themselves; a pool that made requests wait here would only hide that queue
   * and cap open streams. Idle connections are closed after {@link #KEEP_ALIVE_SECONDS}.
   */
  private static final int MAX_CONNECTIONS_PER_BACKEND = 10_000;
  private static final int KEEP_ALIVE_SECONDS = 30;
  private static final long DRAIN_SECONDS = 600;

  private final Vertx vertx;
  private final Map<String, Upstream> clients = new HashMap<>();

  /**
   * A backend's pool, and the path its URL puts before every request's path.
   *
   * <p>{@code backends[].max_idle_conns}: Vert.x's pool caps connections in total, not idle ones, so the cap is kept
   * here. A connection is idle from the clean end of an answer until a request takes it again; one that comes back
   * when {@code maxIdle} are idle already is closed instead of kept (0: no cap, as Go's {@code MaxIdleConns}). The set is array-backed (identity), so taking
   * and giving back a connection allocates nothing. Pools are per proxy event loop, and so is the cap.
   */
  public static final class Upstream {
    private final HttpClient client;
    private final String basePath;
    private final int maxIdle;
    private final Set<HttpConnection> idle = Collections.newSetFromMap(new IdentityHashMap<>());

    Upstream(Function<Upstream, HttpClient> client, String basePath, int maxIdle) {
      this.basePath = basePath;
      this.maxIdle = maxIdle;
      this.client = client.apply(this);
    }

    public HttpClient client() {
      return client;
    }

    public String basePath() {
      return basePath;
    }

    /** A request was given this connection: it is busy. */
    public void taken(HttpConnection connection) {
      idle.remove(connection);
    }

    /** An answer on this connection ended cleanly: the pool keeps it, unless enough are idle already. */
    public void givenBack(HttpConnection connection) {
      if (maxIdle > 0 && idle.size() >= maxIdle) {
        connection.close();
      } else {
        idle.add(connection);
      }
    }

    /** Connections idle now, as far as the cap is concerned. */
    public int idleConnections() {
      return idle.size();
    }

    private void opened(HttpConnection connection) {
      connection.closeHandler(v -> idle.remove(connection));
      // The exchange on the connection learns of a reset through its request or response; without a handler here
      // Vert.x logs the connection's copy of it at ERROR as unhandled (a backend's reset is a backend's fault).
      connection.exceptionHandler(failure -> LOG.debug("backend connection failed: {}", failure.toString()));
    }
  }

  /**
   * How long a request may wait for a connection from its backend's pool: the backend's {@code timeout} (the wait is
   * time the client waits for its answer) plus {@code connect_timeout}, and never less than {@code connect_timeout}
   * plus {@link #ACQUIRE_MARGIN_MS}. Vert.x starts this clock when a request queues or its connect begins, and
   * the TCP connect itself is bounded by {@code connect_timeout} alone (Netty's {@code ConnectTimeoutException}, a
   * backend failure). Longer than that, so that a slow connect always fails as a connect failure and an expired
   * wait is always the gateway's own queue (or its own busy loop), never counted against the backend.
   */
  public static long acquireTimeoutMs(Backend backend) {
    long connect = backend.connectTimeoutMs();
    return Math.max(connect + ACQUIRE_MARGIN_MS, connect + Math.max(0, backend.timeoutMs()));
  }

  static final long ACQUIRE_MARGIN_MS = 1_000;

  public BackendClients(Vertx vertx) {
    this.vertx = vertx;
  }

  public Upstream upstream(Backend backend) {
    Upstream upstream = clients.get(backend.url());
    if (upstream == null) {
      upstream = new Upstream(pool -> create(backend, pool), basePath(backend.uri()), backend.maxIdleConns());
      clients.put(backend.url(), upstream);
    }
    return upstream;
  }

  private static String basePath(URI uri) {
    String path = uri.getRawPath();
    if (path == null || path.isEmpty() || path.equals("/")) {
      return "";
    }
    return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /** Opens pools for new backends and lets the pools of vanished ones finish their streams, then closes them. */
  public void retainOnly(List<Backend> backends) {
    Set<String> keep = new HashSet<>();
    for (Backend backend : backends) {
      keep.add(backend.url());
    }
    clients.entrySet().removeIf(entry -> {
      if (keep.contains(entry.getKey())) {
        return false;
      }
      entry.getValue().client().shutdown(DRAIN_SECONDS, TimeUnit.SECONDS);
      return true;
    });
  }

  public void closeAll() {
    clients.values().forEach(upstream -> upstream.client().close());
    clients.clear();
  }

  private HttpClient create(Backend backend, Upstream upstream) {
    URI uri = backend.uri();
    boolean tls = "https".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    HttpClientOptions options = new HttpClientOptions()
        .setDefaultHost(uri.getHost())
        .setDefaultPort(port)
        .setSsl(tls)
        .setTcpNoDelay(true)
        .setKeepAlive(true)
        .setKeepAliveTimeout(KEEP_ALIVE_SECONDS)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, backend.connectTimeoutMs()))
        .setDecompressionSupported(false)
        .setMaxHeaderSize(64 * 1024)
        .setName(backend.name());
    PoolOptions pool = new PoolOptions()
        .setHttp1MaxSize(backend.maxConnections() > 0 ? backend.maxConnections() : MAX_CONNECTIONS_PER_BACKEND)
        .setMaxWaitQueueSize(-1);
    LOG.debug("connection pool for backend {} ({}:{})", backend.name(), uri.getHost(), port);
    return vertx.httpClientBuilder().with(options).with(pool).withConnectHandler(upstream::opened).build();
  }
}
