package dev.lockstep.block.replicated.lineage;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * A disk's data lineage, as its status shows it.
 *
 * @param generation the generation of the data the disk holds now
 * @param generationSince when that generation began
 * @param agreed the generation both nodes held when they were last in sync, or
 * {@code null} if the lineage cannot be trusted
 * @param divergedAt when this disk's data began to differ from what the nodes agreed on,
 * or {@code null} if it has not
 * @param trusted whether the next synchronisation may rely on the lineage; if not, it
 * compares every chunk
 * @param note why the lineage cannot be trusted, or {@code null}
 * @param consistent false while a synchronisation into this disk has not completed
 * @param discardLocalChanges whether this node was started as a secondary that lets the
 * primary overwrite its own changes
 * @param activityLogBytes the bytes the activity log covers: what a crash now would leave
 * in doubt
 * @param suspectBytes bytes a crash left in doubt, compared at the next synchronisation
 */
public record LineageStatus(String generation, Instant generationSince, @Nullable String agreed,
		@Nullable Instant divergedAt, boolean trusted, @Nullable String note, boolean consistent,
		boolean discardLocalChanges, long activityLogBytes, long suspectBytes) {
}
