package dev.llmproxy.proxy.translate;

import dev.llmproxy.common.error.Dialect;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.upstream.ResponseTap;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * An answer in the backend's dialect turned into the client's as it passes. A stream is translated frame by frame:
 * each complete frame leaves at once as the client dialect's frames, and only the frame still arriving is held. A
 * JSON answer is one frame: it is translated when it has ended. An error answer comes back in the client's shape,
 * with the backend's status; the upstream key, should a backend quote it, is masked.
 */
public abstract class TranslatingTap implements ResponseTap, SseFrames.Consumer {

  private final boolean eventStream;
  private final int status;
  private final Dialect client;
  private final String requestId;
  private final String upstreamKey;
  private final SseFrames frames;
  private Buffer whole;
  /** What the current chunk's complete frames became. */
  protected Buffer out;
  protected Usage usage;

  protected TranslatingTap(boolean eventStream, int status, Dialect client, String requestId, String upstreamKey) {
    this.eventStream = eventStream && status / 100 == 2;
    this.status = status;
    this.client = client;
    this.requestId = requestId;
    this.upstreamKey = upstreamKey;
    this.frames = this.eventStream ? new SseFrames(this) : null;
  }

  @Override
  public Buffer onChunk(Buffer chunk) {
    if (!eventStream) {
      whole = whole == null ? chunk.copy() : whole.appendBuffer(chunk);
      return null;
    }
    out = Buffer.buffer();
    frames.feed(chunk);
    return out;
  }

  /** @throws GatewayError when a JSON answer cannot be translated: the client gets an error, not a broken answer */
  @Override
  public Buffer onEnd() {
    if (eventStream) {
      out = Buffer.buffer();
      frames.end();
      streamEnded();
      return out;
    }
    JsonObject json;
    try {
      json = whole == null ? new JsonObject() : whole.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      json = null;
    }
    if (status / 100 != 2 || json == null) {
      return client.upstreamErrorBody(status, masked(errorMessage(json)), requestId);
    }
    try {
      return answer(json).toBuffer();
    } catch (RuntimeException malformed) {
      throw new GatewayError(ErrorKind.UPSTREAM_FAILED, "the backend's answer could not be translated");
    }
  }

  @Override
  public Usage usage() {
    return usage;
  }

  @Override
  public boolean atFrameBoundary() {
    return true;
  }

  /** A whole JSON answer in the client's dialect. */
  protected abstract JsonObject answer(JsonObject backendAnswer);

  /** The backend's stream ended (after its last frame): what the client's dialect still needs is written to out. */
  protected abstract void streamEnded();

  protected void emit(String event, JsonObject data) {
    if (event != null) {
      out.appendString("event: ").appendString(event).appendString("\n");
    }
    out.appendString("data: ").appendString(data.encode()).appendString("\n\n");
  }

  protected void emitDone() {
    out.appendString("data: [DONE]\n\n");
  }

  /** The backend's error event in a stream: ends the client's stream on its dialect's error frame. */
  protected void streamError(JsonObject data) {
    out.appendBuffer(client.upstreamStreamError(masked(errorMessage(data))));
  }

  private String masked(String message) {
    return upstreamKey == null || upstreamKey.isEmpty() ? message : message.replace(upstreamKey, "***");
  }

  /** OpenAI's {@code error.message}, Anthropic's {@code error.message}, or a word about the status. */
  private String errorMessage(JsonObject json) {
    if (json != null && json.getValue("error") instanceof JsonObject error && error.getValue("message") instanceof String m) {
      return m;
    }
    if (json != null && json.getValue("error") instanceof String m) {
      return m;
    }
    return "the backend answered with status " + status;
  }

  static long number(JsonObject json, String field) {
    return json != null && json.getValue(field) instanceof Number n ? n.longValue() : 0;
  }
}
