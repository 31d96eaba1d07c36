/**
 * The primary's side of block replication: the forwarding device that applies each write
 * locally and on the secondary, the synchronisation that makes the two disks identical,
 * the dirty chunks it leaves for the next one, the locks that order forwarded writes, and
 * the peer's remote disk. May depend on {@code replicated.protocol}, {@code block.layer}
 * and the core block types, never on {@code replicated.secondary} or {@code replicated}.
 */
@NullMarked
package dev.lockstep.block.replicated.primary;

import org.jspecify.annotations.NullMarked;
