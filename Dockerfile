# syntax=docker/dockerfile:1.7
# The one salsa-stream image: the `salsa` command with every module on its classpath. Every service runs it with
# its own command (docker-compose.yml: generate, score, soup-builder, learn, ingest); configuration comes from the
# environment (SALSA_*; `salsa <command> --help` names each option's variable).
# Build context: the repository root.   docker build -t salsa-stream/salsa:0.1.0 .
FROM maven:3.9.11-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
# the Maven repository lives in a BuildKit cache mount: a rebuild after a source change downloads nothing
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -DskipTests package -pl salsa-cli -am \
    && mkdir -p /app/lib \
    && tr ':' '\n' < salsa-cli/target/classpath.txt | xargs -I{} cp {} /app/lib/ \
    && cp salsa-cli/target/salsa-cli-*.jar /app/salsa-cli.jar \
    && mkdir -p /app/config && cp salsa-cli/src/main/resources/logback.xml /app/config/logback.xml

FROM eclipse-temurin:17-jre
# curl for the compose health checks (GET /healthz); a home and a working folder the service user owns, where
# every relative state folder (salsa-data/generator, salsa-data/cache, salsa-data/soup-work, …) lands
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/salsa --create-home --shell /usr/sbin/nologin salsa \
    && mkdir -p /var/cache/djl && chown salsa:salsa /var/cache/djl
COPY --from=build /app /app
USER salsa
WORKDIR /var/lib/salsa
# PyTorch's native library is unpacked here on first use; a volume keeps it across restarts
# MALLOC_ARENA_MAX: two glibc malloc arenas, so PyTorch's native allocations on many threads do not keep freed
# pages in RSS across up to 8 arenas per core (a long-running service's memory stays flat)
ENV DJL_CACHE_DIR=/var/cache/djl \
    SALSA_LOG_FORMAT=text \
    MALLOC_ARENA_MAX=2
# logging: /app/config/logback.xml (mount another one there); SALSA_LOG_FORMAT=json for JSON lines
ENTRYPOINT ["java", "--add-modules", "jdk.incubator.vector", "-Dlogback.configurationFile=/app/config/logback.xml", "-cp", "/app/salsa-cli.jar:/app/lib/*", "io.salsa.cli.Salsa"]
CMD ["--help"]
