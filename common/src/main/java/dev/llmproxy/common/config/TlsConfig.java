package dev.llmproxy.common.config;
// TEMPORARY STUB
public record TlsConfig(boolean enabled, String certFile, String keyFile, String clientCaFile, String clientAuth) {}
