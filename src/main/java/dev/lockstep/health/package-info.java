/**
 * The {@code replication} (readiness) and {@code lifecycle} (liveness) health indicators,
 * built on the coordinator's state and its error sweep. It depends on
 * {@code dev.lockstep.replication} and Spring Boot's health support only.
 */
@NullMarked
package dev.lockstep.health;

import org.jspecify.annotations.NullMarked;
