/**
 * Device layers that serve any stack: the switching device behind a replicated disk's
 * export, the gated device whose requests a barrier can drain, read-only views, and the
 * per-disk record of faults that every layer writes to. Depends on the core block types
 * only.
 */
@NullMarked
package dev.lockstep.block.layer;

import org.jspecify.annotations.NullMarked;
