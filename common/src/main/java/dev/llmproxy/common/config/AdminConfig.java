package dev.llmproxy.common.config;
// TEMPORARY STUB
public record AdminConfig(boolean enabled, String token, String listen, String dbPath, java.util.List<String> allowedIps) {}
