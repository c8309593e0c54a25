package dev.llmproxy.common.config;
// TEMPORARY STUB
public record LoadedConfig(GatewayConfig config, java.util.List<String> warnings, java.util.List<String> errors) {
  public boolean ok() { return errors.isEmpty(); }
}
