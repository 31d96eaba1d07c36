package dev.lockstep.block.replicated.lineage;

/**
 * A synchronisation refused because it would discard one node's changes: a split brain, a
 * secondary that holds newer data, or lineages that do not meet. Its message names the
 * disk, both generations, when each side diverged and what the operator may do.
 */
public final class LineageConflictException extends Exception {

	private static final long serialVersionUID = 1L;

	LineageConflictException(String message) {
		super(message);
	}

}
