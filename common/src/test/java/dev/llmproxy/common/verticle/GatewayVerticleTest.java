package dev.llmproxy.common.verticle;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VertxExtension.class)
class GatewayVerticleTest {

  /** Registers a consumer and two releases, records each step, and fails its start when asked to. */
  private static final class Recording extends GatewayVerticle {
    final List<String> steps = new CopyOnWriteArrayList<>();
    private final boolean failStart;

    Recording(GatewayConfig config, boolean failStart) {
      super(config);
      this.failStart = failStart;
    }

    @Override
    protected Future<?> startService() {
      steps.add("start with " + gatewayConfig().routing().timeout().toSeconds() + " s");
      consumer("test.verticle.echo", message -> message.reply(message.body()));
      onRelease(() -> record("release pools"));
      onRelease(() -> record("release clients"));
      return failStart ? Future.failedFuture("the store is unreachable") : Future.succeededFuture();
    }

    @Override
    protected Future<?> drain() {
      return vertx.eventBus().request("test.verticle.echo", "still answering")
          .compose(reply -> record("drain: " + reply.body()));
    }

    @Override
    protected Future<?> stopService() {
      return record("stop service");
    }

    private Future<Void> record(String step) {
      steps.add(step);
      return Future.succeededFuture();
    }
  }

  @Test
  void aFailedStartUnregistersItsConsumersAndReleasesInReverse(Vertx vertx, VertxTestContext ctx) {
    Recording verticle = new Recording(GatewayConfig.defaults(), true);
    vertx.deployVerticle(verticle).onComplete(ctx.failing(failure -> ctx.verify(() -> {
      assertEquals("the store is unreachable", failure.getMessage());
      assertEquals(List.of("start with 60 s", "release clients", "release pools"), verticle.steps);
      vertx.eventBus().request("test.verticle.echo", "anyone?").onComplete(ctx.failing(none -> ctx.verify(() -> {
        assertInstanceOf(ReplyException.class, none, "no consumer is left behind");
        ctx.completeNow();
      })));
    })));
  }

  @Test
  void stopDrainsWhileConsumersAnswerThenStopsThenReleasesInReverse(Vertx vertx, VertxTestContext ctx) {
    Recording verticle = new Recording(GatewayConfig.defaults(), false);
    vertx.deployVerticle(verticle)
        .compose(id -> vertx.eventBus().request("test.verticle.echo", "up").map(id))
        .compose(vertx::undeploy)
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(List.of("start with 60 s", "drain: still answering", "stop service", "release clients",
              "release pools"), verticle.steps);
          ctx.completeNow();
        })));
  }

  /** Deployed with no config object, a verticle reads the canonical JSON of its deployment's config. */
  @Test
  void aVerticleIsDeployableFromItsDeploymentsJsonConfigAlone(Vertx vertx, VertxTestContext ctx) {
    JsonObject canonical = GatewayConfig.defaults().toJson();
    canonical.getJsonObject("routing").put("timeout", "41s");
    Recording verticle = new Recording(null, false);
    vertx.deployVerticle(verticle, new DeploymentOptions().setConfig(canonical))
        .onComplete(ctx.succeeding(id -> ctx.verify(() -> {
          assertTrue(verticle.steps.contains("start with 41 s"), verticle.steps.toString());
          ctx.completeNow();
        })));
  }

  @Test
  void aVerticleThatDoesNotReconfigureInPlaceSaysSo(Vertx vertx, VertxTestContext ctx) {
    new Recording(GatewayConfig.defaults(), false).reconfigure(GatewayConfig.defaults())
        .onComplete(ctx.failing(e -> ctx.verify(() -> {
          assertTrue(e.getMessage().contains("replaced on a reload"), e.getMessage());
          ctx.completeNow();
        })));
  }
}
