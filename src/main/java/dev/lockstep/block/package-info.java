/**
 * The disk engine: the configured disks, the exports that the NBD server serves and the
 * {@link dev.lockstep.block.BlockDevice} contract that every device layer implements.
 * Depends on {@code dev.lockstep.block.file} for images and
 * {@code dev.lockstep.block.nbd} for the server; it knows nothing of replication, which
 * builds on top of it.
 */
@NullMarked
package dev.lockstep.block;

import org.jspecify.annotations.NullMarked;
