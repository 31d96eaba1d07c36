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
# Disks and ./data/api-token live on /data: with / as the working directory, ./data is /data.
WORKDIR /
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60 -XX:+ExitOnOutOfMemoryError"
USER 10001:10001
# 8080: HTTP API, Swagger UI, actuator. 10809: NBD.
EXPOSE 8080 10809
ENTRYPOINT ["java", "-jar", "/opt/lockstep/application.jar"]
