import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.util.Set;

/**
 * The bench's reference point: a bare Vert.x 5 reverse proxy (pooled keep-alive client,
 * pipeTo, nothing else): no routing, no JSON, no auth, no metrics. PERFORMANCE.md's
 * "first bar": LLMProxy with every feature on should stay within ~10% of this one's
 * throughput and ~15 µs of its p50. Run from source, no build:
 *
 *   java -cp VERTX_CLASSPATH bench/lib/BareProxy.java LISTEN_PORT UPSTREAM_PORT
 *
 * Serves GET /ready with 200 like the gateway, so run.sh treats both alike.
 */
public final class BareProxy extends VerticleBase {

  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
      "transfer-encoding", "te", "trailer", "upgrade", "host");

  private final int listenPort;
  private final int upstreamPort;
  private HttpClient client;

  BareProxy(int listenPort, int upstreamPort) {
    this.listenPort = listenPort;
    this.upstreamPort = upstreamPort;
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(new HttpClientOptions()
            .setDefaultHost("127.0.0.1").setDefaultPort(upstreamPort)
            .setKeepAlive(true).setTcpNoDelay(true).setIdleTimeout(60),
        new PoolOptions().setHttp1MaxSize(20000).setMaxWaitQueueSize(-1));
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(listenPort).setTcpNoDelay(true))
        .requestHandler(this::handle)
        .listen();
  }

  private void handle(HttpServerRequest req) {
    if ("/ready".equals(req.path())) {
      req.response().end("ok");
      return;
    }
    req.pause();
    HttpServerResponse resp = req.response();
    client.request(new RequestOptions().setMethod(req.method()).setURI(req.uri()))
        .onFailure(err -> fail(resp, err))
        .onSuccess(creq -> {
          copy(req.headers(), creq.headers());
          creq.send(req)
              .onFailure(err -> fail(resp, err))
              .onSuccess(cres -> {
                resp.setStatusCode(cres.statusCode());
                copy(cres.headers(), resp.headers());
                if (!cres.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
                  resp.setChunked(true);
                }
                cres.pipeTo(resp);
              });
        });
  }

  private static void copy(MultiMap from, MultiMap to) {
    from.forEach(e -> {
      if (!HOP_BY_HOP.contains(e.getKey().toLowerCase())) {
        to.add(e.getKey(), e.getValue());
      }
    });
  }

  private static void fail(HttpServerResponse resp, Throwable err) {
    if (!resp.headWritten()) {
      resp.setStatusCode(502).end(String.valueOf(err.getMessage()));
    } else {
      resp.reset();
    }
  }

  public static void main(String[] args) {
    int listen = Integer.parseInt(args[0]);
    int upstream = Integer.parseInt(args[1]);
    int instances = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
    // -Dbare.nativeTransport=true: epoll, as the gateway uses where netty's native transport is on the class path
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(Boolean.getBoolean("bare.nativeTransport")));
    if (vertx.isNativeTransportEnabled()) {
      System.out.println("native transport");
    }
    vertx.deployVerticle(() -> new BareProxy(listen, upstream), new DeploymentOptions().setInstances(instances)).await();
    System.out.println("bare proxy on 127.0.0.1:" + listen + " -> 127.0.0.1:" + upstream);
  }
}
