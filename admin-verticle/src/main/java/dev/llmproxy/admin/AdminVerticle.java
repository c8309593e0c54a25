package dev.llmproxy.admin;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/** Deployed and idle until its issue fills it: it registers no address, so it can do no harm. */
public final class AdminVerticle extends VerticleBase {

  private final GatewayConfig config;

  public AdminVerticle(GatewayConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    return Future.succeededFuture();
  }
}
