# syntax=docker/dockerfile:1
#
# Lockstep container image.
#   docker build -t registry.example.com/lockstep:0.1.0 .
# Stage 1 builds the Spring Boot jar with the Maven wrapper on a JDK and splits it into layers;
# stage 2 runs it on a JRE as a non-root user, with no build tools. See docs/kubernetes.md.

ARG BUILD_IMAGE=eclipse-temurin:17-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre

FROM ${BUILD_IMAGE} AS build
WORKDIR /build
# The context is the project less what .dockerignore leaves out; the cache mount keeps the
# local Maven repository between builds, so a source change downloads nothing.
COPY . .
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp -DskipTests package \
 && cp target/lockstep-*.jar application.jar \
 && java -Djarmode=tools -jar application.jar extract --layers --destination extracted

FROM ${RUNTIME_IMAGE}
# A fixed non-root user; the Helm chart runs the pod with the same IDs (runAsUser/runAsGroup 10001).
RUN groupadd --system --gid 10001 lockstep \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin lockstep \
 && mkdir -p /data \
 && chown 10001:10001 /data
WORKDIR /opt/lockstep
# Layers from the least to the most often changed, so that a code change ships only the last one.
COPY --from=build /build/extracted/dependencies/ ./
COPY --from=build /build/extracted/spring-boot-loader/ ./
COPY --from=build /build/extracted/snapshot-dependencies/ ./
COPY --from=build /build/extracted/application/ ./
# Class data sharing: a training run that starts the application context and exits (Spring Boot's
# spring.context.exit=onRefresh) records the classes it loaded in an archive, which every start maps
# instead of loading and verifying those classes again; it halves the time to readiness
# (bench/startup.sh, docs/benchmarks.md). It runs in a throwaway directory, so the disk it creates
# is not kept. A JVM that cannot use the archive (another JDK build) warns and starts without it.
RUN mkdir /tmp/cds-training \
 && cd /tmp/cds-training \
 && java -XX:ArchiveClassesAtExit=/opt/lockstep/application.jsa -Dspring.context.exit=onRefresh \
      -jar /opt/lockstep/application.jar --lockstep.security.api-token=cds-training \
      --server.port=0 --lockstep.block.nbd.port=0 --logging.level.root=WARN \
 && cd / \
 && rm -rf /tmp/cds-training
# Disks and ./data/api-token live on /data: with / as the working directory, ./data is /data.
WORKDIR /
# The Helm chart sets JAVA_TOOL_OPTIONS and MALLOC_ARENA_MAX itself, from its values; these are the same
# defaults for a container started without it (see docs/benchmarks.md, "Start-up and memory").
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=30 -XX:InitialRAMPercentage=12 -XX:MetaspaceSize=80m -XX:+UseG1GC -XX:MaxDirectMemorySize=288m -XX:MaxMetaspaceSize=160m -XX:+ExitOnOutOfMemoryError" \
    MALLOC_ARENA_MAX=2
USER 10001:10001
# 8080: HTTP API, Swagger UI, actuator. 10809: NBD.
EXPOSE 8080 10809
ENTRYPOINT ["java", "-XX:SharedArchiveFile=/opt/lockstep/application.jsa", "-jar", "/opt/lockstep/application.jar"]
