package dev.llmproxy.common.config;
// TEMPORARY STUB
public record AuthConfig(boolean enabled, java.util.List<String> skipPaths, java.util.List<String> headerNames, boolean forwardKey) {}
