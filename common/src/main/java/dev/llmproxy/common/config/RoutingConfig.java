package dev.llmproxy.common.config;
// TEMPORARY STUB
public record RoutingConfig(boolean enabled, String loadBalance, java.time.Duration timeout, java.time.Duration connectTimeout) {}
