/**
 * The {@code replication} (readiness) and {@code lifecycle} (liveness) health indicators,
 * built on the coordinator's state and its error sweep, and the gauge that publishes the
 * health groups as metrics. It depends on {@code dev.lockstep.replication}, Spring Boot's
 * health support and Micrometer only.
 */
@NullMarked
package dev.lockstep.health;

import org.jspecify.annotations.NullMarked;
