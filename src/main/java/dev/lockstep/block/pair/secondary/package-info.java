/**
 * The secondary's side of block replication: the {@code colo} overlay stack (hidden and
 * active overlays over the base image, copy-before-write), the {@code mirror} replica,
 * and the chunk hash device that a synchronising primary reads. May depend on
 * {@code pair.protocol}, {@code block.layer}, {@code block.overlay} and the core block
 * types, never on {@code pair.primary} or {@code pair}.
 */
@NullMarked
package dev.lockstep.block.pair.secondary;

import org.jspecify.annotations.NullMarked;
