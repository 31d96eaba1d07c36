/**
 * Disk images as files: the raw image device, its allocation map and
 * {@link dev.lockstep.block.file.DiskFiles}, the one way to open a file whose channel an
 * interrupt must not close. Depends only on {@code dev.lockstep.block}'s device contract
 * and the JDK.
 */
@NullMarked
package dev.lockstep.block.file;

import org.jspecify.annotations.NullMarked;
