package dev.lockstep.block.replicated.lineage;

/**
 * What a synchronisation must do, as {@link SyncPlanner} decided it from both nodes'
 * lineages.
 *
 * @param method how the chunks are chosen
 * @param copy the chunks copied to the secondary outright
 * @param compare the chunks compared by hash, and copied if they differ
 * @param reason why, in one sentence for the log and the status
 */
public record SyncPlan(Method method, DirtyChunks copy, DirtyChunks compare, String reason) {

	/** How a synchronisation chooses the chunks it looks at. */
	public enum Method {

		/** The disks are equal: nothing is copied and nothing is hashed. */
		NONE,

		/** Only the chunks the bitmaps name are copied, or compared. */
		BITMAP,

		/** Every chunk is compared by hash; the dirty ones are copied outright. */
		FULL

	}

	/** Whether the synchronisation looks at a chunk at all. */
	public boolean visits(long chunk) {
		return this.copy.isDirty(chunk) || this.compare.isDirty(chunk);
	}

	/** Whether the synchronisation needs the secondary's hash of a chunk. */
	public boolean needsHash(long chunk) {
		return this.compare.isDirty(chunk) && !this.copy.isDirty(chunk);
	}

}
