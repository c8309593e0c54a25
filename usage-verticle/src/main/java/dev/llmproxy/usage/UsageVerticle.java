package dev.llmproxy.usage;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one usage record per finished request. For now it logs them (at debug, keys masked); the
 * durable journal and the reporters come with the usage issue.
 */
public final class UsageVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UsageVerticle.class);

  private final GatewayConfig config;
  private MessageConsumer<UsageRecord> records;
  private long received;

  public UsageVerticle(GatewayConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    UsageRecordCodec.register(vertx.eventBus());
    records = vertx.eventBus().consumer(Addresses.USAGE_RECORD, message -> record(message.body()));
    return records.completion();
  }

  private void record(UsageRecord record) {
    received++;
    if (LOG.isDebugEnabled() && config.usage().enabled()) {
      LOG.debug("usage {} key={} model={} prompt={} completion={} total={} stream={} status={} estimated={} aborted={}",
          record.requestId(), Secrets.mask(record.apiKey()), record.model(), record.promptTokens(),
          record.completionTokens(), record.totalTokens(), record.stream(), record.statusCode(), record.estimated(),
          record.aborted());
    }
  }

  @Override
  public Future<?> stop() {
    LOG.info("usage verticle stopping after {} record(s)", received);
    return records.unregister();
  }
}
