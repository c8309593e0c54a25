package dev.llmproxy.launcher.reload;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.ArrayList;
import java.util.List;

/**
 * Holds the messages sent to an address while the verticle that consumes it is replaced (config reload), and
 * passes them on to its successor: a usage record sent between the old usage verticle's stop and the new one's
 * start is journaled by the new one, not dropped. A message that asked for a reply gets its successor's.
 */
public final class HandOver {

  private final Vertx vertx;
  private final String address;
  private final List<Message<Object>> held = new ArrayList<>();
  private final Object lock = new Object();
  private MessageConsumer<Object> consumer;

  private HandOver(Vertx vertx, String address) {
    this.vertx = vertx;
    this.address = address;
  }

  /** Starts holding; the returned hand-over is registered (it receives messages) once the future completes. */
  public static Future<HandOver> hold(Vertx vertx, String address) {
    HandOver handOver = new HandOver(vertx, address);
    handOver.consumer = vertx.eventBus().localConsumer(address, handOver::keep);
    return handOver.consumer.completion().map(v -> handOver);
  }

  private void keep(Message<Object> message) {
    synchronized (lock) {
      held.add(message);
    }
  }

  /** Stops holding and sends what was held to whoever consumes the address now. */
  public Future<Integer> release() {
    return consumer.unregister().map(v -> {
      List<Message<Object>> taken;
      synchronized (lock) {
        taken = List.copyOf(held);
        held.clear();
      }
      for (Message<Object> message : taken) {
        if (message.replyAddress() == null) {
          vertx.eventBus().send(address, message.body());
        } else {
          vertx.eventBus().request(address, message.body()).onComplete(reply -> {
            if (reply.succeeded()) {
              message.reply(reply.result().body());
            } else {
              message.fail(500, reply.cause().getMessage());
            }
          });
        }
      }
      return taken.size();
    });
  }
}
