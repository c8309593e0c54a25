package dev.llmproxy.common.config;
// TEMPORARY STUB
public record BackendConfig(String name, String url, int weight, java.time.Duration timeout, java.time.Duration connectTimeout, int maxIdleConns, java.util.Map<String,String> headers, java.util.List<String> models) {}
