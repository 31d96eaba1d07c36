/**
 * Copy-on-write overlays: a device that keeps its writes in a cluster file above a base
 * device that it never changes, and the lock stripes that order access per cluster.
 * Depends on {@code dev.lockstep.block} and {@code dev.lockstep.block.file}.
 */
@NullMarked
package dev.lockstep.block.overlay;

import org.jspecify.annotations.NullMarked;
