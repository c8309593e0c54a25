package dev.llmproxy.common.config;
// TEMPORARY STUB
public record UsageConfig(boolean enabled, String journalPath) {}
