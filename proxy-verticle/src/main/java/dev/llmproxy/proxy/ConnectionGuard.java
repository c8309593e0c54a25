package dev.llmproxy.proxy;

import dev.llmproxy.common.config.ServerConfig;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * {@code server.read_timeout}, {@code write_timeout} and {@code idle_timeout} on one HTTP/1.x connection (on HTTP/2:
 * {@code idle_timeout} by {@link Http2Idle}, {@code read_timeout} per stream by {@link BodyReadStep}), as Go's
 * net/http (which the seed describes) means them:
 * <ul>
 *   <li>read: from a request's first byte (for the first request, from the connection's start) until its head and
 *   body are in. On expiry the client gets a 408 in its path's error JSON when no answer has begun, then the connection
 *   is closed. Every path is covered, and so is a head that never completes (slowloris);</li>
 *   <li>write: a response write that makes no progress (bytes wait to leave and none leave, a client that stopped
 *   reading) closes the connection. A long stream that keeps moving is never cut;</li>
 *   <li>idle: only the wait for the next request on a kept-alive connection. A request waiting for its backend is
 *   not idle, whatever the time without I/O.</li>
 * </ul>
 * Vert.x's own idle timeout counts any time without I/O, so a slow backend looked idle to it: it is not used.
 * Two small Netty handlers share this state: one before the HTTP decoder sees a request's first raw byte and the
 * flushes; one before Vert.x's handler sees decoded requests and responses. Everything runs on the connection's
 * event loop. A request costs a few field writes and time stamps: one timer per connection is moved only when it
 * fires, or when a state needs it earlier than it is set.
 */
final class ConnectionGuard {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
  private static final AttributeKey<ConnectionGuard> KEY = AttributeKey.valueOf("llmproxy.connectionGuard");

  /** The three limits in nanoseconds; 0 is no limit. */
  record Limits(long readNanos, long writeNanos, long idleNanos) {
    static Limits of(ServerConfig server) {
      return new Limits(server.readTimeout().toNanos(), server.writeTimeout().toNanos(), server.idleTimeout().toNanos());
    }

    boolean any() {
      return readNanos > 0 || writeNanos > 0 || idleNanos > 0;
    }
  }

  private final Limits limits;
  private final Channel channel;
  /** Where a reply of our own enters the pipeline: below the HTTP encoder, so its bytes go out as they are. */
  private ChannelHandlerContext rawContext;
  private final Runnable checkTask = this::check;
  /** Vert.x's h2c upgrade handler was in the pipeline at the start ({@code server.h2c}): an upgrade is looked for. */
  private boolean upgradable;

  private ScheduledFuture<?> timer;
  private long timerDeadline;

  /** Between a request's first byte and the end of its body. */
  private boolean reading;
  /**
   * A byte of a request has arrived on this connection. The first request is timed from the connection's start, but
   * a client that opened a connection and sent nothing (a pool connecting ahead) is closed without a 408: an answer
   * nobody asked for would be taken by a pooled client as the answer to the request it sends next, as Go's server,
   * which these timeouts follow, also closes in silence.
   */
  private boolean bytesArrived;
  private long readStart;
  /** The request being read has reached the application (its head is decoded). */
  private boolean headDelivered;
  private boolean readTimedOut;
  /** The target of the request being read, for the dialect of an answer given from here. */
  private String uri;
  /** A request was refused by this guard: whatever else the client sends is dropped until the connection closes. */
  private boolean refused;
  /** Requests whose head arrived minus responses that ended: more than 0 while an answer is owed. */
  private int answersOwed;
  private boolean responseStarted;
  private long idleSince;
  /** Bytes were left unsent after a flush: their leaving is watched. */
  private boolean watchingWrite;
  private long lastWriteProgress;
  private Object unsentHead;
  private long unsentHeadProgress;
  private long unsentBytes;

  private ConnectionGuard(Limits limits, Channel channel) {
    this.limits = limits;
    this.channel = channel;
  }

  /**
   * Puts the guard into a new HTTP/1.x connection's pipeline; the connection's first request is being read from now.
   * Uses Vert.x's internal connection type to reach the Netty pipeline: Vert.x has no public hook for a handler that
   * sees a request's bytes before its head is complete.
   */
  static void install(HttpConnection connection, Limits limits) {
    // Installed without limits too: it also answers what Vert.x would answer without a body or not at all (an HTTP
    // version it does not speak, a chunked body that is not valid chunked encoding).
    if (!(connection instanceof io.vertx.core.http.impl.HttpServerConnection internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get("handler") instanceof Http2ConnectionHandler) {
      Http2Idle.install(pipeline, limits); // HTTP/2 by prior knowledge or ALPN
      return;
    }
    if (pipeline.get("httpDecoder") == null || pipeline.get("llmproxyRawGuard") != null) {
      return;
    }
    ConnectionGuard guard = new ConnectionGuard(limits, pipeline.channel());
    pipeline.addBefore("httpDecoder", "llmproxyRawGuard", guard.new Raw());
    pipeline.addBefore("handler", "llmproxyHttpGuard", guard.new Decoded());
    guard.rawContext = pipeline.context("llmproxyRawGuard");
    guard.upgradable = pipeline.get("h2c") != null;
    guard.channel.attr(KEY).set(guard);
    guard.startReading(System.nanoTime());
  }

  /** True when the connection of a request was closed because the request did not arrive within the read timeout. */
  static boolean readTimedOut(HttpConnection connection) {
    if (!(connection instanceof io.vertx.core.http.impl.HttpServerConnection internal)) {
      return false;
    }
    ConnectionGuard guard = internal.channelHandlerContext().channel().attr(KEY).get();
    return guard != null && guard.readTimedOut;
  }

  private void startReading(long now) {
    reading = true;
    readStart = now;
    if (limits.readNanos > 0) {
      arm(now + limits.readNanos);
    }
  }

  private void requestHead() {
    answersOwed++;
    headDelivered = true;
  }

  private void requestEnded(long now) {
    reading = false;
    headDelivered = false;
    if (idle()) {
      becameIdle(now);
    }
  }

  private void responseEnded(long now) {
    answersOwed--;
    responseStarted = false;
    if (idle()) {
      becameIdle(now);
    }
  }

  private void becameIdle(long now) {
    idleSince = now;
    if (limits.idleNanos > 0) {
      // Checked first after at most the read timeout: the next request's read deadline then never needs the timer
      // moved earlier, which would cost a new timer per request on a busy kept-alive connection.
      long first = limits.readNanos > 0 ? Math.min(limits.idleNanos, limits.readNanos) : limits.idleNanos;
      arm(now + first);
    }
  }

  private boolean idle() {
    return !reading && answersOwed <= 0;
  }

  /** After a flush: bytes that could not leave at once start the write watch. */
  private void flushed() {
    if (limits.writeNanos <= 0 || watchingWrite) {
      return;
    }
    ChannelOutboundBuffer unsent = channel.unsafe().outboundBuffer();
    if (unsent != null && unsent.totalPendingWriteBytes() > 0) {
      watchingWrite = true;
      lastWriteProgress = System.nanoTime();
      remember(unsent);
      arm(lastWriteProgress + writeCheckNanos());
    }
  }

  /** Progress is sampled a few times per write timeout, so a stall is cut between 1 and 1.25 write timeouts. */
  private long writeCheckNanos() {
    return Math.max(1, limits.writeNanos / 4);
  }

  private void remember(ChannelOutboundBuffer unsent) {
    unsentHead = unsent.current();
    unsentHeadProgress = unsent.currentProgress();
    unsentBytes = unsent.totalPendingWriteBytes();
  }

  /** Some bytes left since the last look: the head of the queue moved, or the queue shrank. */
  private boolean progressed(ChannelOutboundBuffer unsent) {
    return unsent.current() != unsentHead || unsent.currentProgress() != unsentHeadProgress
        || unsent.totalPendingWriteBytes() < unsentBytes;
  }

  private void arm(long deadline) {
    if (timer != null) {
      if (timerDeadline <= deadline) {
        return;
      }
      timer.cancel(false);
    }
    timerDeadline = deadline;
    timer = channel.eventLoop().schedule(checkTask, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void check() {
    timer = null;
    if (!channel.isActive() || leftForHttp2()) {
      return;
    }
    long now = System.nanoTime();
    long next = Long.MAX_VALUE;
    if (reading && limits.readNanos > 0) {
      long deadline = readStart + limits.readNanos;
      if (now >= deadline) {
        readTimeout();
        return;
      }
      next = deadline;
    }
    if (watchingWrite) {
      ChannelOutboundBuffer unsent = channel.unsafe().outboundBuffer();
      if (unsent == null || unsent.totalPendingWriteBytes() == 0) {
        watchingWrite = false;
        idleSince = now;
      } else if (progressed(unsent)) {
        lastWriteProgress = now;
        remember(unsent);
        next = Math.min(next, now + writeCheckNanos());
      } else if (now - lastWriteProgress >= limits.writeNanos) {
        LOG.debug("closing a connection whose client read nothing for {} ms", (now - lastWriteProgress) / 1_000_000);
        closeNow();
        return;
      } else {
        next = Math.min(next, now + writeCheckNanos());
      }
    }
    if (idle() && !watchingWrite && limits.idleNanos > 0) {
      long deadline = idleSince + limits.idleNanos;
      if (now >= deadline) {
        closeNow();
        return;
      }
      next = Math.min(next, deadline);
    }
    if (next != Long.MAX_VALUE) {
      arm(next);
    }
  }

  /**
   * True once the connection was upgraded to HTTP/2 ({@code Upgrade: h2c}, with {@code server.h2c}): Vert.x has put
   * its HTTP/2 handler in place of the HTTP/1.x one. The guard then leaves the pipeline (a 408 written here would be
   * HTTP/1.1 bytes in an HTTP/2 connection); the streams' read timeout is {@link BodyReadStep}'s.
   */
  private boolean leftForHttp2() {
    if (!upgradable || !(channel.pipeline().get("handler") instanceof Http2ConnectionHandler)) {
      return false;
    }
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get("llmproxyRawGuard") != null) {
      pipeline.remove("llmproxyRawGuard");
    }
    if (pipeline.get("llmproxyHttpGuard") != null) {
      pipeline.remove("llmproxyHttpGuard");
    }
    Http2Idle.install(pipeline, limits);
    return true;
  }

  /**
   * {@code server.idle_timeout} on an HTTP/2 connection: closed once it has had no open stream and no frame in for
   * that long. A stream waiting for its backend is open, so it is never idle (Vert.x's own idle timeout would count
   * it). {@code read_timeout} is per stream ({@link BodyReadStep}); {@code write_timeout} is not applied to HTTP/2.
   */
  private static final class Http2Idle extends io.netty.channel.ChannelInboundHandlerAdapter implements Runnable {
    private final Channel channel;
    private final Http2ConnectionHandler http2;
    private final long idleNanos;
    private long lastActive = System.nanoTime();
    private ScheduledFuture<?> timer;

    private Http2Idle(Channel channel, Http2ConnectionHandler http2, long idleNanos) {
      this.channel = channel;
      this.http2 = http2;
      this.idleNanos = idleNanos;
    }

    static void install(ChannelPipeline pipeline, Limits limits) {
      if (limits.idleNanos <= 0 || pipeline.get("llmproxyHttp2Idle") != null
          || !(pipeline.get("handler") instanceof Http2ConnectionHandler http2)) {
        return;
      }
      Http2Idle idle = new Http2Idle(pipeline.channel(), http2, limits.idleNanos);
      pipeline.addBefore("handler", "llmproxyHttp2Idle", idle);
      http2.connection().addListener(new io.netty.handler.codec.http2.Http2ConnectionAdapter() {
        @Override
        public void onStreamClosed(io.netty.handler.codec.http2.Http2Stream stream) {
          idle.lastActive = System.nanoTime();
        }
      });
      idle.schedule(limits.idleNanos);
    }

    private void schedule(long delayNanos) {
      timer = channel.eventLoop().schedule(this, Math.max(1, delayNanos), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      lastActive = System.nanoTime();
      ctx.fireChannelRead(msg);
    }

    @Override
    public void run() {
      timer = null;
      if (!channel.isActive()) {
        return;
      }
      long now = System.nanoTime();
      if (http2.connection().numActiveStreams() > 0) {
        schedule(idleNanos); // not idle; the last stream's close starts the wait
      } else if (now - lastActive >= idleNanos) {
        LOG.debug("closing an HTTP/2 connection idle for {} ms", (now - lastActive) / 1_000_000);
        channel.close();
      } else {
        schedule(lastActive + idleNanos - now);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
      ctx.fireChannelInactive();
    }
  }

  /**
   * A 408 where a request has begun arriving and no answer has begun on the connection, then close; otherwise just
   * close.
   */
  private void readTimeout() {
    readTimedOut = true;
    boolean replyPossible = bytesArrived && !responseStarted && answersOwed == (headDelivered ? 1 : 0);
    LOG.debug("closing a connection whose request did not arrive within the read timeout");
    if (replyPossible) {
      byte[] reply = reply(ErrorKind.REQUEST_TIMEOUT, "the request did not arrive within server.read_timeout",
          headDelivered ? uri : null);
      rawContext.writeAndFlush(Unpooled.wrappedBuffer(reply)).addListener(written -> closeNow());
    } else {
      closeNow();
    }
  }

  /**
   * Closed from below Vert.x's handler: a close that passes through it waits for the queued bytes to leave first,
   * which for a client that stopped reading is never.
   */
  private void closeNow() {
    rawContext.close();
  }

  /**
   * Answers a request the HTTP decoder took in but Vert.x would not answer well, and closes: a version other than
   * HTTP/1.0 and 1.1 gets 505 (Vert.x: an empty 501 echoing the version), a chunked body that breaks the encoding 400
   * (Vert.x: the connection closed without a word). Nothing is answered once a response has begun.
   */
  private void refuse(ErrorKind kind, String message, String uri) {
    refused = true;
    reading = false;
    if (responseStarted || answersOwed > (headDelivered ? 1 : 0)) {
      closeNow();
      return;
    }
    rawContext.writeAndFlush(Unpooled.wrappedBuffer(reply(kind, message, uri))).addListener(written -> closeNow());
  }

  /** A whole HTTP/1.1 reply with the error in the dialect of the path's endpoint, then the connection closes. */
  static byte[] reply(ErrorKind kind, String message, String uri) {
    String requestId = RequestIds.next();
    byte[] body = Endpoint.dialectOfTarget(uri).body(new GatewayError(kind, message), requestId).getBytes();
    String head = "HTTP/1.1 " + kind.status() + " " + io.netty.handler.codec.http.HttpResponseStatus.valueOf(kind.status())
        .reasonPhrase() + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length
        + "\r\nX-Request-ID: " + requestId + "\r\nConnection: close\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.ISO_8859_1);
    byte[] reply = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, reply, 0, headBytes.length);
    System.arraycopy(body, 0, reply, headBytes.length, body.length);
    return reply;
  }

  /** Before the HTTP decoder: a request's first raw byte, and flushes that leave bytes behind. */
  private final class Raw extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf bytes && bytes.isReadable()) {
        bytesArrived = true;
        if (!reading) {
          startReading(System.nanoTime());
        }
      }
      ctx.fireChannelRead(msg);
      leftForHttp2();
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      ctx.flush();
      flushed();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
      ctx.fireChannelInactive();
    }
  }

  /** Before Vert.x's handler: decoded request heads and ends, response heads and ends. */
  private final class Decoded extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (refused) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof HttpRequest head) {
        uri = head.uri();
        HttpVersion version = head.protocolVersion();
        if (head.decoderResult().isSuccess() && version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
          ReferenceCountUtil.release(msg);
          refuse(ErrorKind.HTTP_VERSION_NOT_SUPPORTED, "HTTP/1.0 and HTTP/1.1 are served here", uri);
          return;
        }
        // Bytes read before the guard joined the pipeline (the h2c port looks at the first ones) reach it only here.
        bytesArrived = true;
        if (!reading) {
          startReading(System.nanoTime());
        }
        requestHead();
      } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
        ReferenceCountUtil.release(msg);
        refuse(ErrorKind.INVALID_REQUEST, "the request body is not valid HTTP: its chunked encoding is malformed", uri);
        return;
      }
      if (msg instanceof LastHttpContent) {
        requestEnded(System.nanoTime());
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      boolean informational = false;
      if (msg instanceof HttpResponse head) {
        informational = head.status().codeClass() == HttpStatusClass.INFORMATIONAL;
        responseStarted |= !informational;
      }
      if (!informational && msg instanceof LastHttpContent) {
        responseEnded(System.nanoTime());
      }
      ctx.write(msg, promise);
    }
  }
}
