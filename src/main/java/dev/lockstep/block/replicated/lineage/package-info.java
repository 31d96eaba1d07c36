/**
 * The data lineage of a replicated disk, after DRBD's generation identifiers, on-disk
 * bitmap and activity log: the generations that say whose data a disk holds, the chunks
 * that changed since the two nodes last agreed, the regions that may hold a write in
 * flight, the files beside the image that keep all of it across restarts and crashes, and
 * the rules that decide what a synchronisation must copy, or that it must be refused. May
 * depend on {@code replicated.protocol}, {@code block.file} and the core block types
 * only.
 */
@NullMarked
package dev.lockstep.block.replicated.lineage;

import org.jspecify.annotations.NullMarked;
