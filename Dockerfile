# syntax=docker/dockerfile:1
# LLMProxy container image: built with the Maven wrapper, run on a JRE as a non-root user.
#   docker build -t llmproxy .
#   docker run -p 8000:8000 -v $PWD/conf/config.yaml:/etc/llmproxy/config.yaml:ro llmproxy

FROM eclipse-temurin:17-jdk-jammy AS build
WORKDIR /src
# The poms first, so that a change of sources alone reuses the layer of downloaded dependencies.
COPY mvnw pom.xml ./
COPY .mvn .mvn
COPY common/pom.xml common/
COPY auth-verticle/pom.xml auth-verticle/
COPY proxy-verticle/pom.xml proxy-verticle/
COPY discovery-verticle/pom.xml discovery-verticle/
COPY usage-verticle/pom.xml usage-verticle/
COPY admin-verticle/pom.xml admin-verticle/
COPY launcher/pom.xml launcher/
COPY test-support/pom.xml test-support/
RUN ./mvnw -B -q dependency:go-offline -DskipTests || true
COPY . .
RUN ./mvnw -B package -DskipTests && cp launcher/target/llmproxy.jar /llmproxy.jar

FROM eclipse-temurin:17-jre-jammy
# curl is what the HEALTHCHECK asks /health with (the Temurin image has it; installed if a base ever lacks it).
RUN command -v curl >/dev/null || (apt-get update && apt-get install -y --no-install-recommends curl \
      && rm -rf /var/lib/apt/lists/*)
RUN groupadd --system --gid 10001 llmproxy \
    && useradd --system --uid 10001 --gid llmproxy --home-dir /var/lib/llmproxy --shell /usr/sbin/nologin llmproxy \
    && mkdir -p /etc/llmproxy /var/lib/llmproxy /opt/llmproxy \
    && chown llmproxy:llmproxy /var/lib/llmproxy
COPY --from=build /llmproxy.jar /opt/llmproxy/llmproxy.jar
COPY conf/config.yaml /etc/llmproxy/config.yaml
# Relative paths of the config (usage.journal_path: ./data/...) land in the writable volume.
WORKDIR /var/lib/llmproxy
VOLUME /var/lib/llmproxy
USER llmproxy
# ParallelGC: smaller RSS than G1 and faster for this gateway (bench/RESULTS.md); the heap follows the
# container's memory limit. Replace JAVA_OPTS as a whole to change them.
ENV JAVA_OPTS="-XX:+UseParallelGC -XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
ENV LLMPROXY_HEALTH_URL="http://127.0.0.1:8000/health"
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "$LLMPROXY_HEALTH_URL" >/dev/null || exit 1
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /opt/llmproxy/llmproxy.jar --config /etc/llmproxy/config.yaml \"$@\"", "llmproxy"]
