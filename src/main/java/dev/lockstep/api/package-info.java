/**
 * The HTTP API: the lifecycle and disk controllers, their request and response shapes,
 * and the problem+json answers of every error, whether Spring MVC, a servlet filter or
 * Tomcat itself gives it. May depend on the coordinator
 * ({@code dev.lockstep.replication}), the disk engine ({@code dev.lockstep.block}), the
 * block replication participant for a disk's verify
 * ({@code dev.lockstep.block.replicated}), the pair's settings
 * ({@code dev.lockstep.pair}) for the pause deadline, and {@code dev.lockstep.logging};
 * nothing in the core depends on it.
 */
@NullMarked
package dev.lockstep.api;

import org.jspecify.annotations.NullMarked;
