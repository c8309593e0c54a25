package dev.llmproxy.proxy.translate;

import dev.llmproxy.common.error.Dialect;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * A chat completions stream ({@code data:} chunks, an error object, {@code [DONE]}) turned into another dialect's
 * events: each chunk is handed over as it comes; {@code [DONE]} finishes; the backend's error ends the stream on the
 * client's error frame.
 */
abstract class ChatStreamTap extends TranslatingTap {

  /** Nothing more is written once the stream finished or failed. */
  protected boolean done;

  ChatStreamTap(boolean eventStream, int status, Dialect client, String requestId, String upstreamKey) {
    super(eventStream, status, client, requestId, upstreamKey);
  }

  @Override
  public final void frame(String event, String data) {
    if (done) {
      return;
    }
    if ("[DONE]".equals(data.trim())) {
      finish();
      return;
    }
    JsonObject json;
    try {
      json = new JsonObject(data);
    } catch (DecodeException e) {
      return;
    }
    if (json.getValue("error") != null) {
      streamError(json);
      done = true;
      return;
    }
    chunk(json);
  }

  /** One chat completion chunk. */
  protected abstract void chunk(JsonObject chunk);

  /** The stream is complete: what the client's dialect closes it with. */
  protected abstract void finish();
}
