/**
 * The peer protocol of block replication: the conventions that ride on NBD between a
 * primary and a secondary (export names, the replication kind announced in the export
 * description, chunk hashes, what a flush and a disconnect mean). Depends on the core
 * block types only.
 */
@NullMarked
package dev.lockstep.block.replicated.protocol;

import org.jspecify.annotations.NullMarked;
