/**
 * The primary's side of block replication: the forwarding device that applies each write
 * locally and on the secondary, the synchronisation that makes the two disks identical,
 * the dirty chunks it leaves for the next one, the locks that order forwarded writes, and
 * the peer's remote disk. May depend on {@code pair.protocol}, {@code block.layer} and
 * the core block types, never on {@code pair.secondary} or {@code pair}.
 */
@NullMarked
package dev.lockstep.block.pair.primary;

import org.jspecify.annotations.NullMarked;
