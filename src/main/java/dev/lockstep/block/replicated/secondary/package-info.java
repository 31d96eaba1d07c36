/**
 * The secondary's side of block replication: the {@code colo} overlay stack (hidden and
 * active overlays over the base image, copy-before-write), the {@code mirror} replica,
 * and the chunk hash device that a synchronising primary reads. May depend on
 * {@code replicated.protocol}, {@code block.layer}, {@code block.overlay} and the core
 * block types, never on {@code replicated.primary} or {@code replicated}.
 */
@NullMarked
package dev.lockstep.block.replicated.secondary;

import org.jspecify.annotations.NullMarked;
